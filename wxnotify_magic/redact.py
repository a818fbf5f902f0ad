"""The one redactor: every text this package shows or logs passes through it, so a token never appears.

It knows every provider's token shapes, the secret positions in destination URLs, and the query parameters and
path segments that carry keys in the services' endpoints (all from the provider declarations), and the exact
secrets of the destinations at hand. Redact first, then shorten (``shorten``). Error texts that echo what a
user typed use ``strict=True``, which also hides any long word mixing letters and digits (a bare key).

The notification itself (the user's own output, sent to the user's own phone) is not redacted.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from functools import cache, lru_cache

from .i18n import tr
from .patterns import compiled as _compiled

_URL = r"(?i)\b([a-z][a-z0-9+.-]{0,15})://[^\s'\"<>()\[\]{}`\u3000-\u303f\uff00-\uffef]*"  # not into
# full-width punctuation (，。（）：): Chinese text often follows a URL without a space
_BARE = r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{20,}(?![\w-])"
_NAME = r"[\w.-]{1,24}"
@cache
def _redacted() -> re.Pattern[str]:
    """A URL redacted already (a label); compiled on first use, not at ``%load_ext`` (it is costly to compile)."""
    return re.compile(r"[a-z][a-z0-9+.-]{0,15}://(?:[A-Za-z_]{0,5}…\w{0,4}@)?(?:[A-Za-z_]{0,5}…\w{0,4}|\d{1,20})"
                      r"(?:/(?:[A-Za-z_]{0,5}…\w{0,4}|\d{1,20}))*", re.IGNORECASE)


def redact_value(value: str) -> str:
    """``AT_…9f2c`` style (the providers' own rule; imported on first use, %load_ext stays light)."""
    from .providers.base import redact_value as rule

    return rule(value)


@cache
def _shapes() -> re.Pattern[str] | None:
    from .providers import PROVIDERS

    shapes = [s for p in PROVIDERS.values() for s in p.secret_shapes()]
    return re.compile("|".join(f"(?:{s})" for s in shapes)) if shapes else None


@cache
def _endpoints() -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]:
    """The query names (``key=``, ``access_token=``) and path patterns (``/KEY.send``) the providers declare."""
    from .providers import PROVIDERS

    names = sorted({n for p in PROVIDERS.values() for n in p.secret_query_names()}, key=len, reverse=True)
    query = re.compile(r"(?i)\b(" + "|".join(map(re.escape, names)) + r")=([^&\s'\"<>]+)")
    return query, tuple(re.compile(p.secret_path) for p in PROVIDERS.values() if p.secret_path)


def _hide_keys(text: str) -> str:
    """``text`` with the secrets of the services' own URLs hidden: ``key=…``, ``/….send``."""
    query, paths = _endpoints()
    text = query.sub(lambda m: f"{m.group(1)}=…", text)
    for path in paths:
        text = path.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + "…" + m.group(0)[m.end(1) - m.start(0):],
                        text)
    return text


def redact_url(target: str) -> str:
    """A destination URL with its secrets redacted (names pass through); unparseable ones show only the scheme."""
    if "://" not in target:
        return target if not _looks_secret(target) else "…"
    from .providers import DestinationError, provider_for

    try:
        provider = provider_for(target)
        if provider is not None and provider.catch_all and "apprise" not in sys.modules:
            provider = None  # reading it would import apprise: until an apprise URL was used, hide all but the scheme
        if provider is not None:
            return provider.parse(target).redacted
    except DestinationError:
        if _redacted().fullmatch(target):  # already redacted (a label): as it is
            return target
    scheme = target.split("://", 1)[0].lower()
    if scheme in ("http", "https"):
        return _redact_http(target)
    return f"{scheme if _compiled(_NAME).fullmatch(scheme) else '…'}://…"


def _redact_http(url: str) -> str:
    """Keys in the query (``key=…``), in ``/KEY.send``, and any long word of letters and digits (a key in the path)."""
    return _compiled(_BARE).sub("…", _hide_keys(url))


def _looks_secret(text: str) -> bool:
    shapes = _shapes()
    return bool(_compiled(_BARE).search(text) or (shapes is not None and shapes.search(text)))


RUN = 8  # characters of a known secret that give it away: a run this long of one is hidden wherever it appears
_known: set[str] = set()  # the secrets of every destination this process sent to
_known_runs: dict[str, list[tuple[str, int]]] = {}  # their RUN-character windows, built once per secret
_known_short: set[str] = set()  # those too short to have a run (found by exact copies only)
Runs = dict[str, list[tuple[str, int]]]


def _long(secret: str) -> bool:
    return len(secret) > RUN and "://" not in secret  # a whole URL's runs would hide every ``https://`` of a text


def remember(secrets: Iterable[str]) -> None:
    """Know ``secrets`` from now on: every later text (a log record, a front's line) hides them and their runs.
    Each is indexed once, so a process that sent to thousands of destinations redacts as fast as one that sent
    to one."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret not in _known:
            _known.add(secret)
            if _long(secret):
                _add_runs(_known_runs, secret)
            else:
                _known_short.add(secret)


def _add_runs(where: Runs, secret: str) -> None:
    for i in range(len(secret) - RUN + 1):
        where.setdefault(secret[i:i + RUN], []).append((secret, i))


@lru_cache(maxsize=64)
def _runs(secrets: frozenset[str]) -> Runs:
    """Every RUN-character window of ``secrets``, and where it sits in which secret."""
    where: Runs = {}
    for secret in secrets:
        _add_runs(where, secret)
    return where


def _found(text: str, indexes: tuple[Runs, ...]) -> list[tuple[int, str, int]]:
    """Where a window of ``text`` is a window of a secret: (position in text, secret, position in secret)."""
    hits: list[tuple[int, str, int]] = []
    for start in range(len(text) - RUN + 1):
        window = text[start:start + RUN]
        for where in indexes:
            hits.extend((start, secret, at) for secret, at in where.get(window, ()))
    return hits


def _hide_runs(text: str, indexes: tuple[Runs, ...]) -> str:
    """``text`` with every run of RUN or more characters of a secret (a quoted part of a token) as ``…``."""
    spans: list[tuple[int, int]] = []
    for start, secret, at in _found(text, indexes):  # widen each run as far as text and secret agree
        left, right = start, start + RUN
        while left > 0 and at + left - 1 - start >= 0 and text[left - 1] == secret[at + left - 1 - start]:
            left -= 1
        while right < len(text) and at + right - start < len(secret) and text[right] == secret[at + right - start]:
            right += 1
        spans.append((left, right))
    for left, right in sorted(_merge(spans), reverse=True):
        text = text[:left] + "…" + text[right:]
    return text


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for left, right in sorted(spans):
        if merged and left <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], right))
        else:
            merged.append((left, right))
    return merged


def redact(text: str, secrets: Iterable[str] = (), strict: bool = False) -> str:
    """``text`` with every secret replaced by its redacted form (``AT_…9f2c``, ``UID_…``, ``key=…``), and any
    run of 8 or more characters of a known secret (a service quoting part of a token) by ``…``."""
    # first: a service's own URL reads as its label
    text = _compiled(_URL).sub(lambda m: redact_url(m.group(0)), str(text))
    given = frozenset(s for s in secrets if s and len(s) >= 4)
    indexes = (_runs(frozenset(s for s in given if _long(s))), _known_runs)
    # only the secrets a window of the text belongs to can occur in it whole: replace those with their redacted
    # form (``AT_…9f2c``), then hide what is left of any of them (a quoted part) as ``…``
    present = {secret for _, secret, _ in _found(text, indexes)} | given | _known_short
    for secret in sorted(present, key=len, reverse=True):
        text = text.replace(secret, redact_value(secret))
    text = _hide_runs(text, indexes)
    text = _hide_keys(text)
    shapes = _shapes()
    if shapes is not None:
        text = shapes.sub(lambda m: redact_value(m.group(0)), text)
    if strict:
        text = _compiled(_BARE).sub("…", text)
    return text


def problem(error: object, limit: int = 300) -> str:
    """A refusal (an exception) as every front shows it: redacted as typed input is (strict), then cut."""
    return shorten(str(error), limit, strict=True)


def shorten(text: str, limit: int = 300, secrets: Iterable[str] = (), strict: bool = False) -> str:
    """Redact, then cut to ``limit`` characters: a cut never leaves part of a secret behind."""
    from .message import cut_end  # the message module loads with the first message, not with %load_ext

    return cut_end(redact(text, secrets, strict), limit)


def carries_secret(text: str) -> bool:
    """True when ``text`` holds a token: a provider's token shape, or a destination URL with a secret in it."""
    shapes = _shapes()
    if shapes is not None and shapes.search(text):
        return True
    from .providers import provider_for

    return any(provider_for(m.group(0)) is not None and redact_url(m.group(0)) != m.group(0)
               for m in _compiled(_URL).finditer(text))


class Redacted(dict):
    """A record that carries destination URLs (the watchdog's route): a plain dict to JSON, redacted in its repr."""

    def __repr__(self) -> str:
        return redact(dict.__repr__(self), strict=True)

    __str__ = __repr__


WORD_JOINER = "\u2060"


def unlinked(text: str) -> str:
    """``text`` with every ``scheme://`` broken by an invisible word joiner, so that a notebook front end does
    not turn a redacted destination (``wxpusher://AT_…9f2c``) into a link; it reads the same."""
    return _compiled(_SCHEME).sub(lambda m: m.group(1) + ":" + WORD_JOINER + "//", text)


_SCHEME = r"(?i)\b([a-z][a-z0-9+.-]{0,15})://"


def echo(value: str) -> str:
    """How a user's input may appear in an error: quoted when it looks like a name, else hidden."""
    value = str(value)
    if _compiled(_NAME).fullmatch(value) and not _looks_secret(value):
        return repr(value)
    return tr("(value hidden)") if "://" not in value else repr(redact_url(value))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the message of every record it sees (urllib3 logs request paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is not ours to fix; let logging report it
            return True
        record.msg, record.args = redact(message), ()
        return True


HTTP_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry",
                "urllib3.response", "requests", "charset_normalizer", "apprise")
_FILTER = RedactingFilter()


def guard_http_logs() -> None:
    """Install the redacting filter on the HTTP libraries' loggers (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


__all__ = ["Redacted", "RedactingFilter", "carries_secret", "echo", "guard_http_logs", "problem", "redact",
           "redact_url", "redact_value", "remember", "shorten", "unlinked"]
