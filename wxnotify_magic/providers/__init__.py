"""The registry of push services and destination URL parsing.

Every module in this package that defines ``PROVIDERS`` (a tuple of ``Provider``) registers itself, with its
answers in the local inbox (``INBOX``, a tuple of ``emulation.Service``) and its Chinese entries of the language
table (``ZH``): adding a service is one module here and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..i18n import add_entries, tr
from .base import Destination, DestinationError, Provider
from .emulation import Service

_SKIP = {"base", "forms", "emulation"}


def _discover() -> tuple[dict[str, Provider], tuple[Service, ...]]:
    found: dict[str, Provider] = {}
    inbox: list[Service] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _SKIP:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for provider in getattr(module, "PROVIDERS", ()):
            found[provider.name] = provider
        inbox += getattr(module, "INBOX", ())
        add_entries("zh", getattr(module, "ZH", {}))
    return found, tuple(inbox)


PROVIDERS, INBOX = _discover()


def get_provider(name: str) -> Provider:
    return PROVIDERS[name]


def provider_for(url: str) -> Provider | None:
    """The provider that owns ``url`` (by scheme, or a native URL it claims), or None."""
    ordered = sorted(PROVIDERS.values(), key=lambda p: p.catch_all)  # a catch-all (apprise) is asked last
    return next((p for p in ordered if p.owns(url)), None)


def schemes() -> list[str]:
    return sorted({p.scheme for p in PROVIDERS.values() if not p.catch_all})


def parse_destination(url: str, name: str = "") -> Destination:
    """Parse a destination URL; raise DestinationError naming the problem, never the secret."""
    url = url.strip()
    if "://" not in url:
        raise DestinationError(tr("not a destination URL (expected e.g. wxpusher://AT_xxx/UID_xxx)"))
    provider = provider_for(url)
    if provider is None:
        scheme = url.split("://", 1)[0].lower()
        shown = scheme if scheme.isalnum() and len(scheme) <= 16 else "…"
        more = tr("; any other service through apprise: {command}", command="pip install 'wxnotify-magic[apprise]'")
        raise DestinationError(tr("unknown destination type {scheme}:// (known: {known})", scheme=shown,
                                  known=", ".join(s + "://" for s in schemes())) + more)
    return provider.parse(url, name)


__all__ = ["INBOX", "PROVIDERS", "Destination", "DestinationError", "Provider", "get_provider", "parse_destination",
           "provider_for", "schemes"]
