"""What a provider declares, and the plain values that cross the transport.

A provider is one module that declares everything the engine, the panel, the redactor and the inbox need:
its fields (which are secret and what their values look like), the formats and limits the renderer uses,
the limits the service counts (by token, bot key, SendKey or recipient), which URLs it claims, and two pure
functions: ``build`` (notification -> HTTP requests) and ``judge`` (HTTP response -> verdict).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..figures import decode, fit
from ..i18n import N_, tr
from ..message import Format, Notification, Unit

Outcome = Literal["delivered", "retry", "permanent"]
DAY = 86400.0


class DestinationError(ValueError):
    """A destination URL or one of its values is malformed; the message never contains the secret."""


# ----------------------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Field:
    """One value a provider needs, as the URL parser, the panel and the redactor see it."""

    name: str
    label: str  # N_()-marked, translated where shown
    pattern: str  # what a valid value looks like (checked case-insensitively)
    hint: str = ""  # N_()-marked
    secret: bool = False
    many: bool = False  # a list of values (recipients)
    required: bool = True
    shape: str = ""  # a regex that finds this secret in free text (for the redactor); "" when it has no shape
    query: tuple[str, ...] = ()  # query parameter names that also set it (``?topic=``)

    def check(self, value: str) -> str | None:
        """A one-line problem with ``value`` (never echoing a secret), or None when it is fine."""
        if not value:
            return tr("{label} is required", label=tr(self.label)) if self.required else None
        if not re.fullmatch(self.pattern, value, flags=re.IGNORECASE):
            shown = tr("this value") if self.secret else repr(value[:40])
            return tr("{label}: {shown} does not look right ({hint})", label=tr(self.label), shown=shown,
                      hint=tr(self.hint) if self.hint else tr("unexpected format"))
        return None


# ---------------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limit:
    """A limit the service counts by the values of one field (its token, bot key, SendKey, or each recipient).

    ``seconds`` is a sliding window, or ``DAY`` for a calendar day (resetting at local midnight). ``name`` lets
    ``WxNotify.quotas`` override a daily count (``{"serverchan": 5}``).
    """

    by: str
    count: int
    seconds: float
    name: str = ""
    same_content: bool = False  # counts only calls with the same content (PushPlus: 3 an hour)

    @property
    def daily(self) -> bool:
        return self.seconds >= DAY


@dataclass(frozen=True)
class LimitKey:
    """One counter: a limit applied to one value, named by a secret-free key and a redacted label."""

    limit: Limit
    key: str
    label: str
    value: str  # the counted value itself (a token or recipient); never shown


# -------------------------------------------------------------------------------------------- HTTP values


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL and body hold tokens: show only where it goes
        return f"HttpRequest({self.method} {urlsplit(self.url).netloc}…)"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> Any:
        """The JSON body, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class Verdict:
    """How one service answered one request: delivered, retry later, or a permanent error, and why."""

    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


# ------------------------------------------------------------------------------------------- destinations


@dataclass(frozen=True, repr=False)
class Destination:
    """A parsed destination URL. Its repr and ``redacted`` never show a secret."""

    provider: Provider
    values: dict[str, Any]
    url: str
    name: str = ""

    @property
    def redacted(self) -> str:
        return self.provider.redact(self)

    @property
    def secrets(self) -> list[str]:
        found: list[str] = []
        for f in self.provider.fields:
            if f.secret:
                value = self.values.get(f.name)
                found += [v for v in (value if isinstance(value, list) else [value]) if v]
        return found

    @property
    def key(self) -> str:
        """A stable, secret-free key of this destination (provider and a hash of the URL)."""
        return f"{self.provider.name}:{_digest(self.url)}"

    def limit_keys(self) -> list[LimitKey]:
        keys = self.__dict__.get("_limit_keys")
        if keys is None:  # computed once per destination: the sender asks for every attempt
            keys = self.provider.limit_keys(self)
            object.__setattr__(self, "_limit_keys", keys)
        return list(keys)

    def narrowed(self, field_name: str, values: list[str]) -> Destination:
        """The same destination with only ``values`` for the recipient field ``field_name``."""
        new = {**self.values, field_name: list(values)}
        return replace(self, values=new, url=self.provider.to_url(new))

    def __repr__(self) -> str:
        label = f"{self.name}=" if self.name else ""
        return f"Destination({label}{self.redacted})"

    __str__ = __repr__


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------- provider


@dataclass(frozen=True)
class Provider:
    """A push service, described declaratively, plus its two pure functions."""

    name: str
    label: str
    scheme: str
    fields: tuple[Field, ...]
    format: Format  # what ``render`` produces for its content
    limit: int  # content limit, in ``unit``
    unit: Unit
    title_limit: int | None  # the card/summary/title field's limit in characters; None: no title field
    build: Callable[[Notification, Destination], list[HttpRequest]]
    judge: Callable[[HttpResponse], Verdict]
    limits: tuple[Limit, ...] = ()
    hint: str = ""  # where to get the token (N_()-marked)
    hint_url: str = ""
    url_example: str = ""
    claims: Callable[[str], bool] | None = None  # does this provider own this (non-scheme) URL?
    native: Callable[[str], str] | None = None  # a native URL (the service's own) -> this provider's URL
    image_limit: int | None = None  # bytes of an uploaded image it carries (PNG/JPEG); None: it carries none

    # -- URLs ----------------------------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        """True when ``url`` is for this provider: its scheme, or a URL it claims."""
        scheme = url.split("://", 1)[0].lower()
        if self.claims is not None:
            return self.claims(url)
        return scheme == self.scheme

    def parse(self, url: str, name: str = "") -> Destination:
        """``scheme://a/b/c?x=y`` -> Destination, checking every value against its field's pattern."""
        url = url.strip()
        if self.native is not None and not url.lower().startswith(self.scheme + "://"):
            url = self.native(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            raise DestinationError(tr("{label}: the URL is malformed", label=tr(self.label))) from None
        segments = [unquote(p) for p in (parts.netloc + parts.path).split("/") if p]
        values: dict[str, Any] = {f.name: ([] if f.many else "") for f in self.fields}
        singles = [f for f in self.fields if not f.many]
        many = [f for f in self.fields if f.many]
        for f in singles:
            if segments:
                values[f.name] = segments.pop(0)
        for part in segments:
            target = next((f for f in many if re.fullmatch(f.pattern, part, re.IGNORECASE)), None)
            if target is None:
                raise DestinationError(tr("{label}: a value in the URL is not a valid {what}", label=tr(self.label),
                                          what=tr(" or ").join(tr(f.label) for f in many) or tr("value")))
            values[target.name].append(part)
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            target = next((f for f in self.fields if key.lower() in f.query), None)
            if target is None:
                raise DestinationError(tr("{label} URL: unknown parameter ?{key}= (known: {known})",
                                          label=tr(self.label), key=_safe_key(key),
                                          known=", ".join(q for f in self.fields for q in f.query) or tr("none")))
            if target.many:
                values[target.name] += [v for v in re.split(r"[,\s]+", value) if v]
            else:
                values[target.name] = value
        for f in self.fields:
            value = values[f.name]
            problems = [f.check(v) for v in value] if f.many else [f.check(value)]
            problem = next((p for p in problems if p), None)
            if problem:
                raise DestinationError(tr("{label} destination: {problem}", label=tr(self.label), problem=problem))
        self.validate(values)
        return Destination(self, values, url, name)

    def validate(self, values: dict[str, Any]) -> None:
        """Cross-field checks: at least one recipient when the provider has required recipient fields."""
        many = [f for f in self.fields if f.many and f.required]
        if many and not any(values[f.name] for f in many):
            raise DestinationError(tr("{label} destination needs at least one of: {fields} (e.g. {example})",
                                      label=tr(self.label), fields=", ".join(tr(f.label) for f in many),
                                      example=self.url_example))

    def to_url(self, values: dict[str, Any]) -> str:
        """The canonical URL of ``values``: the single values, then every recipient."""
        path = []
        for f in self.fields:
            value = values.get(f.name)
            path += [quote(str(v), safe="") for v in (value if isinstance(value, list) else [value]) if v]
        return f"{self.scheme}://" + "/".join(path)

    def redact(self, dest: Destination) -> str:
        """The destination with every secret value redacted: ``wxpusher://AT_…9f2c/UID_…/12``."""
        shown = []
        for f in self.fields:
            value = dest.values.get(f.name)
            shown += [redact_value(v) if f.secret else str(v) for v in (value if isinstance(value, list) else [value])
                      if v]
        return f"{self.scheme}://" + "/".join(shown)

    def secret_shapes(self) -> list[str]:
        return [f.shape for f in self.fields if f.secret and f.shape]

    # -- figures -------------------------------------------------------------------------------------------

    def figure(self, n: Notification) -> tuple[bytes, str]:
        """The image to send with ``n``, fitted to this service; or b'' and why not ('' when ``n`` has none)."""
        if not n.figure:
            return b"", ""
        if self.image_limit is None:
            return b"", tr("figure not sent via {service}: it cannot carry an uploaded image", service=tr(self.label))
        data, why = fit(decode(n.figure), self.image_limit)
        return data, (tr("figure not sent via {service}: {why}", service=tr(self.label), why=why) if why else "")

    # -- limits --------------------------------------------------------------------------------------------

    def limit_keys(self, dest: Destination) -> list[LimitKey]:
        """Every counter one message to ``dest`` counts against, keyed by what the service counts."""
        keys = []
        for limit in self.limits:
            value = dest.values.get(limit.by)
            f = next(f for f in self.fields if f.name == limit.by)
            for v in value if isinstance(value, list) else [value]:
                if v:
                    label = f"{tr(f.label)} {redact_value(v) if f.secret else v}"
                    keys.append(LimitKey(limit, f"{self.name}:{limit.by}:{_digest(v)}", label, v))
        return keys

    def lane(self, dest: Destination) -> str:
        """What requests to ``dest`` queue behind: its first counted value (the token), else the URL."""
        keys = [k for k in dest.limit_keys() if not k.limit.daily]
        return keys[0].key if keys else dest.key


def _safe_key(key: str) -> str:
    return key if re.fullmatch(r"[\w.-]{1,20}", key) else "…"


# --------------------------------------------------------------------------------------------- redaction

_PREFIX = re.compile(r"^(AT_|UID_|SPT_|sctp\d+t|SCT)", re.IGNORECASE)


def redact_value(value: str) -> str:
    """``AT_…9f2c`` style: a known prefix, an ellipsis, and the last four characters when long enough."""
    m = _PREFIX.match(value)
    prefix = m.group(1) if m else ""
    if prefix.upper() == "UID_":
        return "UID_…"
    tail = value[-4:] if len(value) - len(prefix) >= 12 else ""
    return f"{prefix}…{tail}"


# ----------------------------------------------------------------------------------------------- judging


def http_problem(resp: HttpResponse) -> Verdict | None:
    """Judge the transport-level status shared by every provider: 429 and 5xx retry later; 3xx fails."""
    if resp.status == 429 or resp.status >= 500:
        retry_after = retry_after_seconds(resp.header("Retry-After"))
        word = tr("rate limited (HTTP 429)") if resp.status == 429 else tr("server error (HTTP {status})",
                                                                            status=resp.status)
        return Verdict("retry", word, retry_after)
    if 300 <= resp.status < 400:
        return Verdict("permanent", tr("the service answered with a redirect (HTTP {status}); not followed",
                                       status=resp.status))
    if resp.status >= 400:
        return Verdict("permanent", f"HTTP {resp.status}")
    return None


MAX_RETRY_AFTER = 3600.0


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds (number or HTTP date), capped at an hour; junk counts as absent."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # nan, inf
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def json_body(resp: HttpResponse, label: str) -> tuple[dict[str, Any] | None, Verdict | None]:
    """The JSON object body, or the verdict to return when the answer is not usable."""
    problem = http_problem(resp)
    if problem:
        return None, problem
    body = resp.body()
    if not isinstance(body, dict):
        return None, Verdict("retry", tr("{service} answered with something that is not JSON", service=label))
    return body, None


def refusal(label: str, codes: dict[int, str], code: Any, msg: Any, transient: set[int] | frozenset[int],
            code_name: str = "code", retry_after: float | None = None) -> Verdict:
    """A service's business error as one line: its meaning, the code and the service's own words."""
    meaning = tr(codes[code]) if isinstance(code, int) and code in codes else tr("{service} refused the message",
                                                                                  service=label)
    words = str(msg or "")  # not cut here: the receipt redacts first, then shortens
    outcome: Outcome = "retry" if code in transient else "permanent"
    return Verdict(outcome, f"{meaning} ({code_name} {code}{': ' + words if words else ''})", retry_after)


__all__ = [
    "DAY",
    "N_",
    "Destination",
    "DestinationError",
    "Field",
    "HttpRequest",
    "HttpResponse",
    "Limit",
    "LimitKey",
    "Provider",
    "Verdict",
    "http_problem",
    "json_body",
    "redact_value",
    "refusal",
    "retry_after_seconds",
]
