"""What every provider declares, and the plain values that cross the transport."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from ..message import Format, Notification, Unit

Outcome = Literal["delivered", "retry", "permanent"]


class DestinationError(ValueError):
    """A destination URL or one of its values is malformed; the message never contains the secret."""


@dataclass(frozen=True)
class Field:
    """One value a provider needs, as the panel and the URL parser see it."""

    name: str
    label: str
    pattern: str
    hint: str = ""
    secret: bool = False
    many: bool = False  # a list of values (recipients)
    required: bool = True

    def check(self, value: str) -> str | None:
        """Return a one-line problem with ``value`` (never echoing a secret), or None when it is fine."""
        if not value:
            return f"{self.label} is required" if self.required else None
        if not re.fullmatch(self.pattern, value, flags=re.IGNORECASE):
            shown = "this value" if self.secret else repr(value)
            return f"{self.label}: {shown} does not look right ({self.hint or 'unexpected format'})"
        return None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    json: Any = None
    data: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Verdict:
    """How one service answered one request: delivered, retry later, or a permanent error, and why."""

    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


@dataclass(frozen=True)
class Destination:
    """A parsed destination URL. Its repr and ``redacted`` never show a secret."""

    provider: str
    values: dict[str, Any]
    url: str
    name: str = ""

    @property
    def redacted(self) -> str:
        from . import get_provider

        return get_provider(self.provider).redact(self)

    @property
    def secrets(self) -> list[str]:
        from . import get_provider

        spec = get_provider(self.provider)
        found: list[str] = []
        for f in spec.fields:
            if f.secret:
                value = self.values.get(f.name)
                found += [v for v in (value if isinstance(value, list) else [value]) if v]
        return found

    @property
    def key(self) -> str:
        """A stable, secret-free key for quotas: provider and a hash of the URL."""
        import hashlib

        return f"{self.provider}:{hashlib.sha256(self.url.encode()).hexdigest()[:12]}"

    def __repr__(self) -> str:
        label = f"{self.name}=" if self.name else ""
        return f"Destination({label}{self.redacted})"

    __str__ = __repr__


@dataclass(frozen=True)
class Provider:
    """A push service, described declaratively, plus its two pure functions."""

    name: str
    label: str
    scheme: str
    fields: tuple[Field, ...]
    format: Format
    limit: int
    unit: Unit
    title_limit: int
    build: Callable[[Notification, Destination], list[HttpRequest]]
    judge: Callable[[HttpResponse], Verdict]
    rates: tuple[tuple[int, float], ...] = ()  # (calls, seconds) windows
    daily: int | None = None
    same_content_per_hour: int | None = None
    token_hint: str = ""
    url_example: str = ""

    def parse(self, url: str, name: str = "") -> Destination:
        """``scheme://a/b/c`` -> Destination, checking every value against its field's pattern."""
        rest = url.split("://", 1)[1].split("?", 1)[0]
        parts = [unquote(p) for p in rest.strip("/").split("/") if p]
        values: dict[str, Any] = {}
        singles = [f for f in self.fields if not f.many]
        for f in singles:
            values[f.name] = parts.pop(0) if parts else ""
        many = [f for f in self.fields if f.many]
        for f in many:
            values[f.name] = []
        for part in parts:
            target = next((f for f in many if re.fullmatch(f.pattern, part, re.IGNORECASE)), None)
            if target is None:
                hidden = "a value" if any(f.secret for f in many) else repr(part)
                raise DestinationError(f"{self.label}: {hidden} in the URL is not a valid "
                                       f"{' or '.join(f.label for f in many) or 'value'}")
            values[target.name].append(part)
        for f in self.fields:
            value = values[f.name]
            problems = [f.check(v) for v in value] if f.many else [f.check(value)]
            problem = next((p for p in problems if p), None)
            if problem:
                raise DestinationError(f"{self.label} destination: {problem}")
        self.validate(values)
        return Destination(self.name, values, url, name)

    def validate(self, values: dict[str, Any]) -> None:
        """Cross-field checks; the default wants at least one recipient when the provider has recipients."""
        many = [f for f in self.fields if f.many and f.required]
        if many and not any(values[f.name] for f in many):
            raise DestinationError(f"{self.label} destination needs at least one of: "
                                   f"{', '.join(f.label for f in many)} (e.g. {self.url_example})")

    def redact(self, dest: Destination) -> str:
        shown = []
        for f in self.fields:
            value = dest.values.get(f.name)
            for v in value if isinstance(value, list) else [value]:
                if v:
                    shown.append(redact_value(v) if f.secret else str(v))
        return f"{self.scheme}://" + "/".join(shown)


_PREFIX = re.compile(r"^(AT_|UID_|SPT_|sctp\d+t|SCT)", re.IGNORECASE)


def redact_value(value: str) -> str:
    """``AT_abcdef…9f2c`` style: known prefix, an ellipsis, and the last four characters when long enough."""
    m = _PREFIX.match(value)
    prefix = m.group(1) if m else ""
    if prefix.upper() == "UID_":
        return "UID_…"
    tail = value[-4:] if len(value) - len(prefix) >= 12 else ""
    return f"{prefix}…{tail}"


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every occurrence of a secret in ``text`` with its redacted form."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret and len(secret) >= 4:
            text = text.replace(secret, redact_value(secret))
    return text


def http_problem(resp: HttpResponse) -> Verdict | None:
    """Judge the transport-level status shared by every provider: 429 and 5xx retry later."""
    if resp.status == 429 or resp.status >= 500:
        retry_after = _retry_after(resp.headers.get("Retry-After") or resp.headers.get("retry-after"))
        word = "rate limited (HTTP 429)" if resp.status == 429 else f"server error (HTTP {resp.status})"
        return Verdict("retry", word, retry_after)
    if resp.status >= 400:
        return Verdict("permanent", f"HTTP {resp.status}")
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            import time

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def json_body(resp: HttpResponse, label: str) -> tuple[dict[str, Any] | None, Verdict | None]:
    """The JSON object body, or the receipt to return when the answer is not usable."""
    problem = http_problem(resp)
    if problem:
        return None, problem
    body = resp.body()
    if not isinstance(body, dict):
        return None, Verdict("retry", f"{label} answered with something that is not JSON")
    return body, None


def refusal(label: str, codes: dict[int, str], code: Any, msg: Any, transient: set[int] | frozenset[int],
            code_name: str = "code", retry_after: float | None = None) -> Verdict:
    """A service's business error as one line: its meaning, the code and the service's own words."""
    meaning = codes.get(code, f"{label} refused the message") if isinstance(code, int) else f"{label} refused"
    words = str(msg or "")[:100]
    outcome: Outcome = "retry" if code in transient else "permanent"
    return Verdict(outcome, f"{meaning} ({code_name} {code}{': ' + words if words else ''})", retry_after)
