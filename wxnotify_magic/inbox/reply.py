"""What the inbox writes back for one request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """What the handler writes back; body None means: drop the connection."""

    status: int = 200
    body: bytes | None = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False  # close the connection after writing (the request body was not read)


def json_reply(value: Any, status: int = 200) -> Reply:
    """A JSON body (UTF-8, non-ASCII kept)."""
    return Reply(status, json.dumps(value, ensure_ascii=False).encode())


def text_reply(text: str, status: int, content_type: str, headers: dict[str, str] | None = None) -> Reply:
    """A text body of the given type."""
    return Reply(status, text.encode(), f"{content_type}; charset=utf-8", headers or {})
