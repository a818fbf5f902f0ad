"""The registry of push services and destination URL parsing."""

from __future__ import annotations

from .base import Destination, DestinationError, Provider
from .pushplus import PUSHPLUS
from .serverchan import SERVERCHAN
from .wecombot import WECOMBOT, parse_webhook
from .wxpusher import WXPUSHER, WXPUSHER_SPT

PROVIDERS: dict[str, Provider] = {p.name: p for p in (WXPUSHER, WXPUSHER_SPT, PUSHPLUS, SERVERCHAN, WECOMBOT)}


def get_provider(name: str) -> Provider:
    return PROVIDERS[name]


def parse_destination(url: str, name: str = "") -> Destination:
    """Parse an apprise-style destination URL; raise DestinationError naming the problem, not the secret."""
    url = url.strip()
    if "://" not in url:
        raise DestinationError(f"not a destination URL (expected e.g. wxpusher://AT_xxx/UID_xxx): "
                               f"{_hint(url)}")
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("http", "https") and "qyapi.weixin.qq.com" in url:
        return WECOMBOT.parse(parse_webhook(url), name)
    if scheme == "wxpusher":
        first = url.split("://", 1)[1].split("/", 1)[0]
        return (WXPUSHER_SPT if first.upper().startswith("SPT_") else WXPUSHER).parse(url, name)
    for provider in PROVIDERS.values():
        if provider.scheme == scheme:
            return provider.parse(url, name)
    known = ", ".join(sorted({p.scheme + "://" for p in PROVIDERS.values()}))
    raise DestinationError(f"unknown destination type {scheme}:// (known: {known})")


def redact_url(target: str) -> str:
    """A destination URL with its secrets redacted; names pass through; a malformed URL shows only its scheme."""
    if "://" not in target:
        return target
    try:
        return parse_destination(target).redacted
    except DestinationError:
        return target.split("://", 1)[0] + "://(invalid)"


def _hint(text: str) -> str:
    return repr(text) if len(text) <= 20 and not any(c.isdigit() for c in text) else "(value hidden)"


__all__ = ["PROVIDERS", "Destination", "DestinationError", "Provider", "get_provider", "parse_destination",
           "redact_url"]
