"""The services the inbox emulates: every provider module's ``INBOX`` (its paths, the validation of its fields
and limits, its success, business-error and rate-limit bodies), found through the provider registry.
"""

from __future__ import annotations

from ..providers import INBOX
from ..providers.emulation import JSON, Reject, Request, Service
from ..providers.wecombot import image_type, wecom_image

SERVICES: tuple[Service, ...] = INBOX
SERVICE_NAMES = tuple(s.name for s in SERVICES)

__all__ = ["JSON", "SERVICES", "SERVICE_NAMES", "Reject", "Request", "Service", "image_type", "wecom_image"]
