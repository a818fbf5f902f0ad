"""The inbox page: a phone's message list, rendered on the server in the inbox's language, and the feed that
keeps it live. The page carries a Content-Security-Policy: only its own script and style run.
"""

from __future__ import annotations

import html
import secrets
import string
import time
from functools import cache
from importlib import resources
from typing import Any

from ..i18n import language, tr
from .render import available, render
from .reply import Reply
from .services import JSON, image_of


@cache
def _template() -> string.Template:
    return string.Template(resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8"))


def page(messages: list[JSON], lang: str | None = None) -> Reply:
    """The whole page, newest message first, with a fresh nonce for its script and style."""
    nonce = secrets.token_urlsafe(16)
    words = {
        "lang": "zh-CN" if language(lang) == "zh" else "en",
        "nonce": nonce,
        "title": _esc(tr("wxnotify inbox", lang=lang)),
        "status": _esc(status(len(messages), lang)),
        "offline": _esc(tr("inbox not reachable, retrying…", lang=lang)),
        "hint": "" if available() else _esc(tr(
            "Markdown and HTML are shown as plain text: pip install 'wxnotify-magic[inbox]'", lang=lang)),
        "empty": _esc(tr("No messages yet. Point a client at this inbox:", lang=lang)),
        "cards": "".join(card(m, lang) for m in reversed(messages)),
        "last": str(max((m["id"] for m in messages), default=0)),
        "hidden": " hidden" if messages else "",
    }
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
           "img-src data: http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'none'")
    headers = {"Content-Security-Policy": csp, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
               "X-Content-Type-Options": "nosniff"}
    body = _template().substitute(words).encode()
    return Reply(200, body, "text/html; charset=utf-8", headers)


def feed(messages: list[JSON], after: int, lang: str | None = None) -> JSON:
    """What the page polls: every id (to drop cleared cards), the cards newer than ``after``, the status line."""
    return {"ids": [m["id"] for m in messages],
            "cards": [{"id": m["id"], "html": card(m, lang)} for m in messages if m["id"] > after],
            "status": status(len(messages), lang)}


def status(count: int, lang: str | None = None) -> str:
    """The line under the page's title."""
    if count == 1:
        return tr("{n} message · live", lang=lang, n=count)
    return tr("{n} messages · live", lang=lang, n=count)


def card(record: JSON, lang: str | None = None) -> str:
    """One message as a card: service, time, title, the content as the service shows it, why it failed."""
    image = image_of(record)
    content = render(record.get("format", "text"), record["content"], image, lang)
    title = f'<h2 class="title">{_esc(record["title"])}</h2>' if record["title"] else ""
    why = note(record, lang)
    why_html = f'<p class="note">{_esc(why)}</p>' if why else ""
    return (f'<article class="card{"" if record["accepted"] else " failed"}" data-id="{record["id"]}">'
            f'<div class="head"><span class="badge {_esc(record["service"])}">{_esc(record["service"])}</span>'
            f'<time>{_esc(when(record["time"]))}</time></div>{title}'
            f'<div class="body {_esc(record.get("format", "text"))}">{content}</div>'
            f'{why_html}</article>')


def note(record: JSON, lang: str | None = None) -> str:
    """Why a message was not accepted: the fault injected, or the service's error code and message."""
    if record["accepted"]:
        return ""
    if record["fault"]:
        return tr("fault injected: {kind}", lang=lang, kind=record["fault"])
    response: Any = record["response"] if isinstance(record["response"], dict) else {}
    code = response.get("code", response.get("errcode"))
    msg = response.get("msg") or response.get("message") or response.get("errmsg") or ""
    return tr("rejected by the service: {code} {msg}", lang=lang, code=code, msg=msg)


def when(epoch: float) -> str:
    """The time of day, with the date when it is not today."""
    moment = time.localtime(epoch)
    today = time.localtime()
    same_day = moment[:3] == today[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", moment)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
