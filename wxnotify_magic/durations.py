"""Parse and print durations: ``90``, ``90s``, ``5m``, ``1h30m`` <-> ``1h 23m 05s``."""

from __future__ import annotations

import math
import re

from .i18n import language, tr
from .patterns import compiled as _compiled

# units as typed: 5m, 5min, 5 minutes, 5分钟; longer words first
_UNITS = {"d": ("days", "day", "天", "d"), "h": ("hours", "hour", "hrs", "hr", "小时", "h"),
          "m": ("minutes", "minute", "mins", "min", "分钟", "分", "m"),
          "s": ("seconds", "second", "secs", "sec", "秒钟", "秒", "s"), "ms": ("ms",)}
_WORD_UNIT = {word: unit for unit, words in _UNITS.items() for word in words}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_WORD_UNIT, key=len, reverse=True)) + ")?",
                   re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}
MAX_SECONDS = 366 * 86400.0  # a year: anything longer is a typo
# what a mistyped duration looks like (5mins, 1h30, 2 hours, soon): echoed; anything else (a token) is not
_ECHO = r"[+-]?(?:[\d.]{1,8}(?:e[+-]?\d{1,4})? ?[A-Za-z\u4e00-\u9fff]{0,8} ?){1,3}|[A-Za-z]{1,10}"


def parse_duration(text: str | float | int) -> float:
    """Return seconds for ``90``, ``90s``, ``5m``, ``1h30m``, ``1.5h``, ``5 minutes``, ``1 hour 30 min``, ``5分钟``;
    raise ValueError otherwise (quoting what was typed when it looks like a duration)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return _checked(float(text), str(text))
    typed = str(text).strip()
    spec = re.sub(r"\s+|(?<=\D),(?=\s*\d)|\band\b", "", typed)  # "1 hour, 30 minutes", "1 hour and 30 min"
    if not spec:
        raise ValueError(tr("empty duration"))
    total, pos = 0.0, 0
    for match in _PART.finditer(spec):
        if match.start() != pos or (match.group(2) is None and (match.start(), match.end()) != (0, len(spec))):
            break
        unit = _WORD_UNIT[match.group(2).lower()] if match.group(2) else None
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        pos = match.end()
    if pos != len(spec):
        raise _not_a_duration(typed)
    return _checked(total, spec)


def _not_a_duration(text: str) -> ValueError:
    """The error for ``text``, quoting it only when it looks like a duration attempt (``5mins``, ``soon``):
    whatever else was typed there (a token pasted in the wrong place) is not repeated."""
    if len(text) <= 24 and _compiled(_ECHO, re.IGNORECASE).fullmatch(text):
        return ValueError(tr("not a duration: {text!r} (use e.g. 90, 90s, 5m, 1h30m)", text=text))
    return ValueError(tr("not a duration (use e.g. 90, 90s, 5m, 1h30m)"))


def _checked(seconds: float, text: str) -> float:
    if not math.isfinite(seconds):
        raise _not_a_duration(text)
    if seconds < 0:
        raise ValueError(tr("duration must not be negative: {text}", text=text[:20]))
    if seconds > MAX_SECONDS:
        raise ValueError(tr("duration too long: {text} (at most a year)", text=text[:20]))
    return seconds


def human_duration(seconds: float, lang: str | None = None, short: bool = False) -> str:
    """``0.42 s``, ``12.3 s``, ``4m 05s``, ``1h 23m 05s``, ``2d 3h 04m``; in Chinese ``5 小时 42 分 10 秒``.

    ``short`` keeps the two largest units (``2h 03m``, ``2 小时 3 分钟``): the card has little room.
    """
    if seconds < 60:
        number = f"{max(seconds, 0):.2f}" if seconds < 1 else f"{seconds:.1f}"
        return tr("{n} s", lang=lang, n=number)
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    elif hours:
        parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    else:
        parts = [(minutes, "m"), (secs, "s")]
    if short:
        parts = parts[:2]
    if language(lang) == "zh":
        return _zh(parts)
    return " ".join(f"{value:02d}{unit}" if index and unit in "ms" else f"{value}{unit}"
                    for index, (value, unit) in enumerate(parts))


def _zh(parts: list[tuple[int, str]]) -> str:
    """``5 分钟``, ``4 分 5 秒``, ``2 小时 3 分钟``, ``1 天``: a space between number and unit, zero parts left out,
    and minutes said in full (``分钟``) when they end the duration."""
    kept = [(value, unit) for value, unit in parts if value] or parts[:1]
    words = [f"{value} {_ZH_UNITS[unit]}" for value, unit in kept]
    if kept[-1][1] == "m":
        words[-1] += "钟"
    return " ".join(words)


_ZH_UNITS = {"d": "天", "h": "小时", "m": "分", "s": "秒"}
