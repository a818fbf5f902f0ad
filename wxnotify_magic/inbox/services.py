"""The services the inbox emulates: every provider module's ``INBOX`` (its paths, the validation of its fields
and limits, its success, business-error and rate-limit bodies), found through the provider registry.
"""

from __future__ import annotations

from ..providers import INBOX
from ..providers.emulation import JSON, Reject, Request, Service

SERVICES: tuple[Service, ...] = INBOX
SERVICE_NAMES = tuple(s.name for s in SERVICES)
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def image_of(record: JSON) -> bytes | None:
    """The raw bytes of a recorded image message, from its service's own reading of the body (None: none)."""
    service = next((s for s in SERVICES if s.name == record.get("service")), None)
    if record.get("format") != "image" or service is None or service.image is None:
        return None
    return service.image(record.get("body"))


def image_type(raw: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` from the file's first bytes, else None."""
    return next((mime for magic, mime in _IMAGE_MAGIC.items() if raw.startswith(magic)), None)


__all__ = ["JSON", "SERVICES", "SERVICE_NAMES", "Reject", "Request", "Service", "image_of", "image_type"]
