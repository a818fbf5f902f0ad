"""A received request as the inbox keeps it: the body parsed, and the line the command line prints."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from ..i18n import tr
from .services import JSON, image_of


def parse_body(raw: bytes, content_type: str) -> Any:
    """A form dict for urlencoded bodies, else a JSON value, else the raw text (None when empty)."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _outcome(record: JSON, lang: str | None) -> str:
    """A short note on why a message was not accepted ('' when it was)."""
    if record["accepted"]:
        return ""
    if record["fault"]:
        return "  [" + tr("fault: {kind}", lang=lang, kind=record["fault"]) + "]"
    response = record["response"] if isinstance(record["response"], dict) else {}
    code = response.get("code", response.get("errcode"))
    msg = response.get("msg") or response.get("message") or response.get("errmsg") or ""
    return "  [" + tr("rejected: {code} {msg}", lang=lang, code=code, msg=msg) + "]"


def format_record(record: JSON, lang: str | None = None) -> str:
    """A received message as shown on the command line: a header line, then the content indented."""
    stamp = time.strftime("%H:%M:%S", time.localtime(record["time"]))
    title = " ".join(record["title"].split())
    header = "  ".join(part for part in (f"[{stamp}] {record['service']}", title) if part)
    lines = [header + _outcome(record, lang)]
    lines += ["    " + line for line in record["content"].splitlines()]
    if (raw := image_of(record)) is not None:
        lines.append("    [" + tr("image, {size} KB", lang=lang, size=max(1, round(len(raw) / 1024))) + "]")
    return "\n".join(lines)
