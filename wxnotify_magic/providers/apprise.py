"""Every other service apprise speaks to (Telegram, Slack, e-mail, ntfy, ...), with the
optional extra ``pip install 'wxnotify-magic[apprise]'``.

This provider claims the URLs whose scheme no other provider owns and apprise knows (and, once apprise is
installed, the native ``https://`` URLs apprise recognises). Messages go through the same outbox, retries,
receipts and redaction as any other; apprise sends them, and **apprise's own answer (True/False) is the verdict**:
apprise mostly trusts HTTP 200, where the WeChat providers here read each service's body code. apprise is
imported only when such a URL is parsed or sent, never at ``%load_ext``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import unquote

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import N_, Destination, DestinationError, Field, HttpRequest, HttpResponse, Provider, Verdict

INSTALL = "pip install 'wxnotify-magic[apprise]'"
BODY_LIMIT = 32768  # when a plugin declares none
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,31}")
_PERMANENT = re.compile(r"error=4(?!08|29)\d\d\b")  # a 4xx answer other than timeout or rate limit
_plugins: dict[str, Any] = {}
_lock = threading.Lock()
_inside = threading.local()


@cache
def installed() -> bool:
    return importlib.util.find_spec("apprise") is not None


def _apprise() -> Any:
    import apprise

    logger = logging.getLogger("apprise")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # apprise's warnings never reach the user's stderr by themselves
    return apprise


def plugin(url: str) -> Any:
    """apprise's object for ``url`` (made once per URL); raises DestinationError when apprise refuses it."""
    with _lock:
        obj = _plugins.get(url)
    if obj is not None:
        return obj
    if not installed():
        raise DestinationError(tr("this destination needs apprise: {command}", command=INSTALL))
    if getattr(_inside, "on", False):  # asked again by the redactor, from apprise's own log record
        raise DestinationError(tr("the URL is malformed"))
    apprise = _apprise()
    _inside.on = True
    try:
        with _Capture(), _Quiet():  # its warnings about a bad URL name the token: kept from the user's log
            obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    finally:
        _inside.on = False
    if obj is None:
        from apprise.manager_plugins import NotificationManager

        scheme = url.split("://", 1)[0].lower()
        shown = scheme if _SCHEME.fullmatch(scheme) else "…"
        if scheme not in NotificationManager() and scheme not in ("http", "https"):
            raise DestinationError(tr("unknown destination type {scheme}:// (neither wxnotify nor apprise knows it)",
                                      scheme=shown))
        raise DestinationError(tr("apprise does not accept this {scheme}:// URL (see apprise's documentation of the "
                                  "service for its form)", scheme=shown))
    with _lock:
        _plugins[url] = obj
    return obj


class _Capture(logging.Handler):
    """apprise's warnings logged by this thread while it works (they say why a send failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())

    def __enter__(self) -> _Capture:
        logging.getLogger("apprise").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("apprise").removeHandler(self)


class _Quiet(logging.Filter):
    """While apprise parses a URL in this thread, its log records stop at its logger (they quote the URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread

    def __enter__(self) -> _Quiet:
        logging.getLogger("apprise").addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("apprise").removeFilter(self)


_refused = threading.local()  # the redirects apprise met while it sent from this thread


def _refuse_redirects() -> None:
    """Make requests follow no redirect while apprise sends from a thread of ours: a redirect would forward the
    token (a header, a body) to wherever it points. Our own transport asks for none (``allow_redirects=False``);
    apprise's plugins call requests with the default, so the guard sits in ``Session.get_redirect_target``."""
    import requests

    original = requests.Session.get_redirect_target
    if getattr(original, "wxnotify", False):
        return

    def get_redirect_target(self: Any, resp: Any) -> str | None:
        target = original(self, resp)
        seen = getattr(_refused, "statuses", None)
        if target and seen is not None:
            seen.append(int(resp.status_code))
            return None  # apprise gets the 3xx answer itself, and reports a failure
        return target

    get_redirect_target.wxnotify = True  # type: ignore[attr-defined]
    requests.Session.get_redirect_target = get_redirect_target  # type: ignore[method-assign]


def owns(url: str) -> bool:
    """A scheme no other provider owns (they are asked first), when apprise is installed; never imports it."""
    scheme = url.split("://", 1)[0].lower()
    return "://" in url and bool(_SCHEME.fullmatch(scheme)) and installed()


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """One apprise notification, rendered in the plugin's own format and limits."""
    obj = plugin(dest.url)
    fmt: Format = str(getattr(obj.notify_format, "value", obj.notify_format))  # type: ignore[assignment]
    fmt = fmt if fmt in ("text", "markdown", "html") else "text"
    title_limit = int(getattr(obj, "title_maxlen", 0) or 0)
    body = render(n, fmt, int(getattr(obj, "body_maxlen", 0) or BODY_LIMIT))
    title = render_title(n, title_limit) if title_limit else ""
    return [HttpRequest("NOTIFY", dest.url, json={"title": title, "body": body, "format": fmt,
                                                  "type": "failure" if n.status == "failed" else "info"})]


def send(request: HttpRequest, secrets: list[str]) -> HttpResponse:
    """Let apprise send it; the answer is apprise's True/False and the warnings it logged meanwhile."""
    obj = plugin(request.url)
    apprise = _apprise()
    data = request.json or {}
    kind = apprise.NotifyType.FAILURE if data.get("type") == "failure" else apprise.NotifyType.INFO
    _refuse_redirects()
    _refused.statuses = []
    with _Capture() as capture:
        try:
            ok = bool(obj.notify(body=data.get("body", ""), title=data.get("title", ""), notify_type=kind,
                                 body_format=data.get("format", "text")))
        except Exception as exc:  # a plugin's own bug must not stop the sender
            ok, capture.lines = False, [*capture.lines, f"{type(exc).__name__}: {exc}"]
        finally:
            redirects, _refused.statuses = _refused.statuses, None
    if redirects:  # not followed: whatever apprise made of the 3xx, it was not sent
        return HttpResponse(200, json.dumps({"ok": False, "redirect": redirects[0], "log": capture.lines[-3:]}))
    return HttpResponse(200, json.dumps({"ok": ok, "log": capture.lines[-3:]}))


def judge(resp: HttpResponse) -> Verdict:
    """apprise's answer is the verdict; a failure is retried unless the service answered with a 4xx."""
    body = resp.body() if isinstance(resp.body(), dict) else {}
    if body.get("redirect"):
        return Verdict("permanent", tr("the service answered with a redirect (HTTP {status}); not followed",
                                       status=body["redirect"]))
    if body.get("ok"):
        return Verdict("delivered")
    why = "; ".join(str(line) for line in body.get("log") or []) or tr("no reason given")
    return Verdict("permanent" if _PERMANENT.search(why) else "retry", tr("apprise could not send it ({why})",
                                                                            why=why))


def _secret_parts(obj: Any) -> list[str]:
    """The pieces of the URL apprise hides when it prints it privately: its tokens, passwords and keys."""
    full, shown = obj.url(privacy=False), obj.url(privacy=True)
    split = re.compile(r"://|[/?&=@:]")
    a, b = split.split(full), split.split(shown)
    parts = [x for x, y in zip(a, b, strict=False) if x != y] if len(a) == len(b) else [x for x in a if len(x) >= 6]
    found = {p for p in parts if p} | set(_KEYLIKE.findall(full.partition("://")[2].split("?", 1)[0]))
    found |= {piece for p in parts for piece in [unquote(p), *unquote(p).split(":")] if len(piece) >= 4}
    return sorted(found, key=len, reverse=True)


_KEYLIKE = re.compile(r"(?<![\w.-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{8,}(?![\w.-])")


def _label(obj: Any) -> str:
    """apprise's private printout of the URL, without its query (the settings apprise spells out), and any word
    of 8 or more letters and digits hidden too: apprise shows some secrets in full (an ntfy topic, a path key)."""
    scheme, _, rest = str(obj.url(privacy=True)).split("?", 1)[0].rstrip("/").partition("://")
    return f"{scheme}://{_KEYLIKE.sub('…', rest)}"


@dataclass(frozen=True)
class AppriseProvider(Provider):
    """The catch-all: its one value is the whole apprise URL, which apprise itself parses and prints."""

    def parse(self, url: str, name: str = "") -> Destination:
        url = url.strip()
        obj = plugin(url)
        return Destination(self, {"url": url, "service": str(getattr(obj, "service_name", "") or "")}, url, name)

    def to_url(self, values: dict[str, Any]) -> str:
        return str(values.get("url", ""))

    def redact(self, dest: Destination) -> str:
        try:
            return _label(plugin(dest.url))
        except Exception:
            return dest.url.split("://", 1)[0] + "://…"

    def secrets_of(self, dest: Destination) -> list[str]:
        try:
            return [*_secret_parts(plugin(dest.url)), dest.url]
        except Exception:
            return [dest.url]

    def service_of(self, dest: Destination) -> str:
        service = dest.values.get("service") or tr(self.label)
        return tr("{service} (apprise)", service=service)


def loaded() -> bool:
    """True once apprise is imported (the redactor parses apprise URLs only then, so it never imports it)."""
    return "apprise" in sys.modules


APPRISE = AppriseProvider(
    name="apprise", label=N_("Other service (apprise URL)"), scheme="apprise",
    fields=(Field("url", N_("apprise URL"), r"[A-Za-z][A-Za-z0-9+.-]*://\S+",
                  N_("any apprise URL, e.g. tgram://BOT_TOKEN/CHAT_ID or ntfy://TOPIC"), secret=True),),
    format="text", limit=BODY_LIMIT, unit="chars", title_limit=None, build=build, judge=judge,
    hint=N_("Any service apprise supports (Telegram, Slack, e-mail, ntfy, ...): paste its apprise URL. "
            "Needs pip install 'wxnotify-magic[apprise]'."),
    hint_url="https://github.com/caronc/apprise/wiki",
    url_example="tgram://BOT_TOKEN/CHAT_ID",
    claims=owns, options=(), catch_all=True, send=send, wechat=False,
)

PROVIDERS = (APPRISE,)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "Any service apprise supports (Telegram, Slack, e-mail, ntfy, ...): paste its apprise URL. Needs pip install "
    "'wxnotify-magic[apprise]'.":
        "apprise 支持的任何服务（Telegram、Slack、邮件、ntfy……）：粘贴它的 apprise URL。需要 pip install "
        "'wxnotify-magic[apprise]'。",
    "Other service (apprise URL)": "其他服务（apprise URL）",
    "any apprise URL, e.g. tgram://BOT_TOKEN/CHAT_ID or ntfy://TOPIC":
        "任意 apprise URL，例如 tgram://BOT_TOKEN/CHAT_ID 或 ntfy://TOPIC",
    "apprise URL": "apprise URL",
    "apprise could not send it ({why})": "apprise 未能发送（{why}）",
    "apprise does not accept this {scheme}:// URL (see apprise's documentation of the service for its form)":
        "apprise 不接受这个 {scheme}:// URL（格式见 apprise 对该服务的文档）",
    "no reason given": "没有给出原因",
    "the URL is malformed": "URL 格式有误",
    "this destination needs apprise: {command}": "这个推送目标需要 apprise：{command}",
    "unknown destination type {scheme}:// (neither wxnotify nor apprise knows it)":
        "未知的推送目标类型 {scheme}://（wxnotify 和 apprise 都不认识）",
    "{service} (apprise)": "{service}（apprise）",
}
