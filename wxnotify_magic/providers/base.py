"""What a provider declares, and the plain values that cross the transport.

A provider is one module that declares everything the engine, the panel, the redactor and the inbox need:
its fields (which are secret, what their values look like, the prefix a redacted value keeps), the formats and
limits the renderer uses, the limits the service counts (by token, bot key, SendKey or recipient), which URLs it
claims, whether it reaches WeChat, and two pure functions: ``build`` (notification -> HTTP requests) and ``judge``
(HTTP response -> verdict), plus an optional ``sign`` applied at send time (a signature that depends on the clock).
The module also holds its answers in the local inbox (``INBOX``), its Chinese entries (``ZH``) and its contract
example (``Provider.example``); ``providers/__init__.py`` discovers all of them.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from ..figures import decode, fit
from ..i18n import N_, tr
from ..message import Format, Notification, Unit, digest_figures
from .forms import APPRISE_OPTIONS, Option, UrlParts, format_option, split_url

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
    query: tuple[str, ...] = ()  # query parameter names that also set it (``?topic=``, a list for ``many``)
    prefix: str = ""  # a recipient written with this prefix belongs here (PushPlus ``#topic``, ``@friend``)
    in_path: bool = True  # False: only the query sets it (WeCom ``?mention=``)
    lead: tuple[str, ...] = ()  # a secret's non-secret prefixes, kept when it is redacted (``AT_`` -> ``AT_…9f2c``)
    tail: bool = True  # a redacted value keeps its last four characters (a UID keeps none: ``UID_…``)

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

    ``seconds`` is a sliding window, or ``DAY`` for a calendar day of the service, which resets at midnight in
    the service's ``zone`` (China time for the built-in services, whatever the machine's zone). ``name`` lets
    ``WxNotify.quotas`` override a daily count (``{"serverchan": 5}``).
    """

    by: str
    count: int
    seconds: float
    name: str = ""
    same_content: bool = False  # counts only calls with the same content (PushPlus: 3 an hour)
    zone: str = "Asia/Shanghai"  # where the service's day begins and ends (an IANA zone name)

    @property
    def daily(self) -> bool:
        return self.seconds >= DAY


@dataclass(frozen=True)
class LimitKey:
    """One counter: a limit applied to one value, named by a secret-free key and a redacted label."""

    limit: Limit
    key: str
    label: str
    value: str = field(repr=False)  # the counted value itself (a token or recipient); never shown


# -------------------------------------------------------------------------------------------- HTTP values


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL and body hold tokens: show only where it goes
        parts = urlsplit(self.url)
        host = parts.hostname if parts.scheme in ("http", "https") else "…"
        return f"HttpRequest({self.method} {parts.scheme}://{host}…)"


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
    limited: bool = False  # the service limits the token (HTTP 429, "too many requests"): its whole lane waits
    unknown: bool = False  # a success status with an answer that cannot be read: it may have arrived

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
        return self.provider.secrets_of(self)

    @property
    def service(self) -> str:
        """Who delivers it, as the receipt names it (``WxPusher``, ``Telegram (apprise)``)."""
        return self.provider.service_of(self)

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
class Example:
    """A provider's contract example: a destination URL with fake secrets, every secret in it, and a business
    error code the service answers (the provider contract tests run each provider's example against the inbox)."""

    url: str
    secrets: tuple[str, ...]
    refusal: int


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
    options: tuple[Option, ...] = APPRISE_OPTIONS  # settings read from the URL's query
    userinfo: str = ""  # the option a ``name@`` before the host sets ("" = none is accepted)
    host_target: bool = True  # with the token in the query, the host is a recipient (else it must be the token)
    refine: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # provider-specific checks after parsing
    catch_all: bool = False  # claims what no other provider owns: asked last
    send: Callable[[HttpRequest, list[str]], HttpResponse] | None = None  # sends by itself, not over HTTP here
    wechat: bool = False  # it reaches WeChat (the receipt says "sent to WeChat"); a group robot elsewhere does not
    sign: Callable[[HttpRequest, Destination, float], HttpRequest] | None = None  # at send time, with the clock
    secret_query: tuple[str, ...] = ()  # query names in the service's own URLs that carry a secret (``access_token``)
    secret_path: str = ""  # a regex of the service's URL path whose group 1 is a secret (``/KEY.send``)
    example: Example | None = None  # the contract example (tests/test_provider_contract.py runs every one)

    def __post_init__(self) -> None:
        for f in self.fields:
            if f.secret:
                _LEADS.update({lead.lower(): (lead, f.tail) for lead in f.lead})

    # -- URLs ----------------------------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        """True when ``url`` is for this provider: its scheme, or a URL it claims."""
        scheme = url.split("://", 1)[0].lower()
        if self.claims is not None:
            return self.claims(url)
        return scheme == self.scheme

    def parse(self, url: str, name: str = "") -> Destination:
        """``scheme://a/b/c?x=y`` -> Destination, checking every value against its field or option."""
        url = url.strip()
        if self.native is not None and not url.lower().startswith(self.scheme + "://"):
            url = self.native(url)
        try:
            parts = split_url(url)
        except ValueError:
            raise DestinationError(tr("{label}: the URL is malformed", label=tr(self.label))) from None
        values: dict[str, Any] = {f.name: ([] if f.many else "") for f in self.fields}
        values.update({o.name: "" for o in self.options if not o.inert})
        from_query: set[str] = set()
        later: list[tuple[Field, str]] = []  # recipients from the query come after those in the path, as in apprise
        for key, value in parts.query:
            self._read_query(key, value, values, from_query, later)
        if parts.user:
            if not self.userinfo:
                raise DestinationError(tr("{label} URL: a name@ before the host is not supported",
                                          label=tr(self.label)))
            self._set(values, self.userinfo, parts.user, "user@")
        self._read_path(parts, values, from_query)
        for f, item in later:
            values[f.name].append(item)
        for f in self.fields:
            value = values[f.name]
            problems = [f.check(v) for v in value] if f.many else [f.check(value)]
            problem = next((p for p in problems if p), None)
            if problem:
                raise DestinationError(tr("{label} destination: {problem}", label=tr(self.label), problem=problem))
        if self.refine is not None:
            values = self.refine(values)
        self.validate(values)
        return Destination(self, values, url, name)

    def _read_query(self, key: str, value: str, values: dict[str, Any], from_query: set[str],
                    later: list[tuple[Field, str]]) -> None:
        fields = [f for f in self.fields if key in f.query]
        option = next((o for o in self.options if key in o.query), None)
        if fields and (len(fields) > 1 or fields[0].many):
            later += [self._route(item, fields) for item in re.split(r"[,\s]+", value) if item]
        elif fields:
            self._set(values, fields[0].name, value, f"?{key}=")
            from_query.add(fields[0].name)
        elif option is not None:
            read = option.read(value)
            if read is None:
                accepted = ", ".join(option.choices) if option.choices else tr("a different value")
                raise DestinationError(tr("{label} URL: ?{key}={value} is not supported (accepted: {accepted})",
                                          label=tr(self.label), key=_safe_key(key), value=_safe_value(value),
                                          accepted=accepted))
            if not option.inert:
                self._set(values, option.name, read, f"?{key}=")
        else:
            known = [q for f in self.fields for q in f.query]
            known += [q for o in self.options if not o.inert for q in o.query]
            raise DestinationError(tr("{label} URL: unknown parameter ?{key}= (known: {known})",
                                      label=tr(self.label), key=_safe_key(key),
                                      known=", ".join(dict.fromkeys(known)) or tr("none")))

    def _set(self, values: dict[str, Any], name: str, value: str, where: str) -> None:
        """Set a single value; the same one given twice with different values is an error."""
        if values.get(name) and values[name] != value:
            raise DestinationError(tr("{label} URL: {where} gives {name} a second, different value",
                                      label=tr(self.label), where=where, name=name))
        values[name] = value

    def _read_path(self, parts: UrlParts, values: dict[str, Any], from_query: set[str]) -> None:
        """The host and path: the single values in order (unless the query gave them), then recipients."""
        segments = ([parts.host] if parts.host else []) + parts.path
        singles = [f for f in self.fields if not f.many and f.in_path]
        if parts.host and any(f.name in from_query for f in singles):
            given = [values[f.name] for f in singles if f.name in from_query]
            if parts.host in given:  # the token twice, in the host and the query (a native URL's rewrite)
                segments = parts.path
            elif not self.host_target:
                raise DestinationError(tr("{label} URL: the host and ?token= disagree; put the token in one place",
                                          label=tr(self.label)))
        for f in singles:
            if f.name not in from_query and segments:
                self._set(values, f.name, segments.pop(0), "/")
        many = [f for f in self.fields if f.many and f.in_path]
        for segment in segments:
            for item in (v for v in segment.split(",") if v):
                if not many:
                    raise DestinationError(tr("{label} URL: unexpected path /{part} (it takes only {fields})",
                                              label=tr(self.label), part=_safe_key(item),
                                              fields=", ".join(tr(f.label) for f in singles)))
                f, item = self._route(item, many)
                values[f.name].append(item)

    def _route(self, item: str, fields: list[Field]) -> tuple[Field, str]:
        """The recipient field ``item`` belongs to: by its prefix, else the first whose pattern it matches."""
        for f in fields:
            if f.prefix and item.startswith(f.prefix):
                return f, item[len(f.prefix):]
        for f in fields:
            if re.fullmatch(f.pattern, item, re.IGNORECASE):
                return f, item
        what = tr(" or ").join(dict.fromkeys(tr(f.label) for f in fields)) or tr("value")
        raise DestinationError(tr("{label}: a value in the URL is not a valid {what}", label=tr(self.label),
                                  what=what))

    def validate(self, values: dict[str, Any]) -> None:
        """Cross-field checks: at least one recipient when the provider has required recipient fields."""
        secrets = {v for f in self.fields if f.secret for v in _listed(values.get(f.name))}
        if any(v in secrets for f in self.fields if not f.secret for v in _listed(values.get(f.name))):
            raise DestinationError(tr("{label} URL: a secret is given twice (pasted twice?); give it once",
                                      label=tr(self.label)))
        many = [f for f in self.fields if f.many and f.required]
        if many and not any(values[f.name] for f in many):
            raise DestinationError(tr("{label} destination needs at least one of: {fields} (e.g. {example})",
                                      label=tr(self.label), fields=", ".join(tr(f.label) for f in many),
                                      example=self.url_example))

    def to_url(self, values: dict[str, Any]) -> str:
        """The canonical URL of ``values``: the single values, every recipient, then the options that are set."""
        path, query, user = [], [], ""
        for f in self.fields:
            value = values.get(f.name)
            items = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
            if f.name == self.userinfo and items:  # a field apprise writes before the host (``SECRET@TOKEN``)
                user = quote(items[0], safe="") + "@"
            elif not f.in_path:
                query += [(f.query[0], ",".join(items))] if items else []
            else:
                path += [quote(self._written(f, v), safe="@") for v in items]
        query += [(o.query[0], values[o.name]) for o in self.options if not o.inert and values.get(o.name)]
        return f"{self.scheme}://{user}" + "/".join(path) + ("?" + urlencode(query, safe=",@") if query else "")

    def _written(self, f: Field, value: str) -> str:
        """A recipient as the URL writes it: with its field's prefix when a plain value would go elsewhere."""
        if not f.prefix:
            return value
        plain = next((g for g in self.fields if g.many and g.in_path and re.fullmatch(g.pattern, value, re.I)), None)
        return value if plain is f else f.prefix + value

    def redact(self, dest: Destination) -> str:
        """The destination with every secret value redacted: ``wxpusher://AT_…9f2c/UID_…/12``."""
        shown, query, user = [], [], ""
        for f in self.fields:
            value = dest.values.get(f.name)
            items = [redact_value(v) if f.secret else str(v) for v in (value if isinstance(value, list) else [value])
                     if v]
            if f.name == self.userinfo and items:
                user = items[0] + "@"
            elif not f.in_path:
                query += [f"{f.query[0]}={','.join(items)}"] if items else []
            else:
                shown += [self._written(f, v) for v in items]
        query += [f"{o.query[0]}={dest.values[o.name]}" for o in self.options
                  if not o.inert and not o.secret and dest.values.get(o.name)]
        return f"{self.scheme}://{user}" + "/".join(shown) + ("?" + "&".join(query) if query else "")

    def secrets_of(self, dest: Destination) -> list[str]:
        """The secret values of ``dest`` (the redactor hides each wherever it appears)."""
        found: list[str] = []
        for f in self.fields:
            if f.secret:
                value = dest.values.get(f.name)
                found += [v for v in (value if isinstance(value, list) else [value]) if v]
        return found

    def service_of(self, dest: Destination) -> str:
        return tr(self.label)

    def signed(self, request: HttpRequest, dest: Destination, now: float | None = None) -> HttpRequest:
        """``request`` as it leaves now: signed when the service wants a time-based signature (``build`` stays pure
        and its requests can wait in the outbox; the signature is made at the moment of sending)."""
        if self.sign is None:
            return request
        return self.sign(request, dest, time.time() if now is None else now)

    def secret_query_names(self) -> set[str]:
        """Query names that carry a secret: the secret fields' own and those of the service's URLs."""
        return {q.lower() for f in self.fields if f.secret for q in f.query} | {q.lower() for q in self.secret_query}

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

    def figures(self, n: Notification, most: int = 4) -> tuple[list[bytes], str]:
        """Every image to send with ``n`` (a digest carries one per pictured job), fitted to this service, at
        most ``most`` (the latest); and which were not sent and why ('' when all were)."""
        found = digest_figures(n)
        if len(found) <= 1:
            data, why = self.figure(n)
            return ([data] if data else []), why
        if self.image_limit is None:
            return [], tr("figures of {which} not sent via {service}: it cannot carry an uploaded image",
                          which=", ".join(label for label, _, _ in found), service=tr(self.label))
        sent: list[bytes] = []
        left: dict[str, list[str]] = {}
        for index, (label, figure, _) in enumerate(found):
            data, why = fit(decode(figure), self.image_limit) if index >= len(found) - most else (
                b"", tr("at most {n} figures a message", n=most))
            if data:
                sent.append(data)
            else:
                left.setdefault(why, []).append(label)
        return sent, "; ".join(tr("figures of {which} not sent via {service}: {why}", which=", ".join(labels),
                                  service=tr(self.label), why=why) for why, labels in left.items())

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


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v]


def _safe_key(key: str) -> str:
    return key if re.fullmatch(r"[\w.-]{1,20}", key) else "…"


def _safe_value(value: str) -> str:
    """A typed option value as an error may quote it: a short plain word (a typo helps the user), else hidden."""
    return value if re.fullmatch(r"[A-Za-z_.-]{1,20}", value) else "…"


# --------------------------------------------------------------------------------------------- redaction

_LEADS: dict[str, tuple[str, bool]] = {}  # lower-cased lead -> (lead, keeps a tail); each Provider adds its fields'


def redact_value(value: str) -> str:
    """``AT_…9f2c`` style: a prefix a provider declared (``Field.lead``; never the digits after it), an ellipsis,
    and the last four characters when long enough (unless the field keeps none)."""
    lowered = value.lower()
    lead = max((k for k in _LEADS if lowered.startswith(k)), key=len, default="")
    prefix, tail = (value[:len(lead)], _LEADS[lead][1]) if lead else ("", True)
    end = value[-4:] if tail and len(value) - len(prefix) >= 12 else ""
    return f"{prefix}…{end}"


__all__ = [
    "APPRISE_OPTIONS",
    "DAY",
    "N_",
    "Destination",
    "DestinationError",
    "Example",
    "Field",
    "HttpRequest",
    "HttpResponse",
    "Limit",
    "LimitKey",
    "Option",
    "Provider",
    "UrlParts",
    "Verdict",
    "format_option",
    "redact_value",
    "split_url",
]
