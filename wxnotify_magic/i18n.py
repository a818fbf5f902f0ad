"""The language table: every user-facing string goes through ``tr()`` (English text is the key).

``WxNotify.lang`` is ``auto`` (Chinese when the locale is Chinese, else English), ``zh`` or ``en``. Strings that
are declared in one place and shown elsewhere (provider hints, labels) are marked with ``N_()``, which returns
them unchanged; ``tr()`` translates them where they are shown. Tracebacks and output are never translated.
A test collects every literal passed to ``tr()`` or ``N_()`` and fails when one has no Chinese entry.
"""

from __future__ import annotations

import locale
import os
from functools import cache

LANGUAGES = ("auto", "zh", "en")
_chosen = "auto"


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is declared; ``tr()`` translates it where it is shown."""
    return text


def detect() -> str:
    """``zh`` when the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, else the system's) is Chinese, else ``en``."""
    env = os.environ
    return _detect(env.get("LC_ALL", ""), env.get("LC_MESSAGES", ""), env.get("LANG", ""))


@cache
def _detect(*values: str) -> str:
    for value in values:
        if value.strip():
            return "zh" if value.strip().lower().startswith("zh") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "zh" if code.lower().startswith(("zh", "chinese")) else "en"


def set_language(lang: str) -> None:
    """Choose ``auto``, ``zh`` or ``en`` for this process (the settings call this)."""
    global _chosen
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _chosen = lang


def language(lang: str | None = None) -> str:
    """The effective language, ``zh`` or ``en``, for ``lang`` (default: the chosen one)."""
    lang = lang or _chosen
    return detect() if lang == "auto" else lang


def tr(msgid: str, /, lang: str | None = None, **values: object) -> str:
    """``msgid`` in the current (or given) language, with ``{name}`` fields filled from ``values``."""
    text = msgid
    if language(lang) == "zh":
        from .lang_zh import ZH

        text = ZH.get(msgid, msgid)
    return text.format(**values) if values else text
