"""Figures: the last image a job displayed, fitted to what a service accepts (PNG or JPEG within a size).

A figure travels in the ``Notification`` as base64 (it is stored in the outbox like the rest). Services that
carry uploaded images declare a size limit (``Provider.image_limit``); ``fit`` keeps an image that fits as it
is, and otherwise re-encodes and downscales it with Pillow when Pillow is installed.
"""

from __future__ import annotations

import base64
import binascii
import io
from functools import lru_cache

from .i18n import N_, tr

MIME_TYPES = ("image/png", "image/jpeg")
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
NO_PILLOW = N_("it is larger than {limit} and Pillow is not installed to shrink it (pip install Pillow)")


def image_type(data: bytes) -> str:
    """``image/png`` or ``image/jpeg`` from the first bytes, else ''."""
    return next((mime for magic, mime in _MAGIC.items() if data.startswith(magic)), "")


def decode(b64: str) -> bytes:
    """The bytes of a base64 figure ('' and junk give b'')."""
    try:
        return base64.b64decode(b64, validate=False)
    except (binascii.Error, ValueError):
        return b""


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


@lru_cache(maxsize=4)
def fit(data: bytes, limit: int) -> tuple[bytes, str]:
    """``data`` as PNG or JPEG of at most ``limit`` bytes, and '' ; or b'' and why it cannot be sent."""
    if not image_type(data):
        return b"", tr("it is not a PNG or JPEG image")
    if len(data) <= limit:
        return data, ""
    try:
        from PIL import Image
    except ImportError:
        return b"", tr(NO_PILLOW, limit=size_text(limit))
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # a broken image must never break delivery
        return b"", tr("it could not be read ({kind})", kind=type(exc).__name__)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.convert("RGBA").getchannel("A"))
        image = background
    for _ in range(12):  # JPEG first, then smaller and smaller
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)
        if out.tell() <= limit:
            return out.getvalue(), ""
        scale = max(0.3, min(0.9, (limit / out.tell()) ** 0.5 * 0.95))
        width, height = max(1, int(image.width * scale)), max(1, int(image.height * scale))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return b"", tr("it could not be made smaller than {limit}", limit=size_text(limit))


__all__ = ["MIME_TYPES", "decode", "encode", "fit", "image_type", "size_text"]
