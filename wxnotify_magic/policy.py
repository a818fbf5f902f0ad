"""The delivery policy, as pure functions: send now, hold, drop or hand to the fallback.

Given the counters one message counts against (``LimitKey``: a token's rate, a UID's day, ...), the calls the
services answered so far under those keys, and the time, ``decide`` says what to do. No threads, no database:
the sender asks, then acts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import Enum
from functools import cache

from .i18n import tr
from .providers.base import LimitKey, Verdict

MAX_ATTEMPTS = 6
UNKNOWN_TRIES = 2  # attempts of a message whose answer could not be read (it may have arrived): one more at most
BASE_BACKOFF, MAX_BACKOFF = 2.0, 600.0
# Pacing margin: the receiving side sees our calls shifted by network and server latency, so a window is
# treated as 10 % (and a quarter second) longer than the service's own.
WINDOW_STRETCH, WINDOW_PAD = 1.1, 0.25
QUOTA_WARN_FRACTION = 0.8
COOLDOWN = 600.0  # a lane held this long or longer is a cool-down: the service said the token is limited

Calls = Sequence[tuple[float, str]]  # (time, content digest) of answered calls, oldest first
CallMap = Mapping[str, Calls]  # key -> its calls


def content_digest(request_json: object) -> str:
    """What a request says, in 16 hex digits: the same message sent twice in a row is a repeat."""
    return hashlib.sha256(repr(request_json).encode()).hexdigest()[:16]


class Action(str, Enum):
    SEND = "send"
    HOLD = "hold"
    DROP = "drop"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class Decision:
    """What to do with one item now. ``send_to`` narrows the recipients of ``field`` (the rest wait ``until``)."""

    action: Action
    until: float = 0.0
    reason: str = ""
    lane_wide: bool = False  # a pacing hold: every item queued behind the same token waits as long
    field: str = ""
    send_to: tuple[str, ...] | None = None


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: about 2, 4, 8 ... seconds, capped at ten minutes."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


CHINA = "Asia/Shanghai"  # the built-in services count their days in China time (UTC+8, no daylight saving)
FIXED_ZONES = {CHINA: timezone(timedelta(hours=8))}  # when the system has no zone database (Windows)


@cache
def zone(name: str = CHINA) -> tzinfo:
    """The time zone ``name``: from the system's zone database, else a known fixed offset, else UTC."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        return FIXED_ZONES.get(name, timezone.utc)


def day_start(now: float, zone_name: str = CHINA) -> float:
    """The first second of the service's day that holds ``now`` (midnight in its zone, not the machine's)."""
    here = datetime.fromtimestamp(now, zone(zone_name))
    return here.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_day(now: float, zone_name: str = CHINA) -> float:
    """The first second of the service's next day (its daily quota resets then)."""
    here = datetime.fromtimestamp(now, zone(zone_name))
    midnight = here.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return midnight.timestamp() + 1


def day_word(zone_name: str = CHINA) -> str:
    """How status names a service's day: "today (Beijing time)" for China time."""
    return tr("today (Beijing time)") if zone_name == CHINA else tr("today ({zone})", zone=zone_name)


def pacing_wait(times: Sequence[float], now: float, count: int, seconds: float) -> float:
    """Seconds to wait so that one more call keeps ``count`` per ``seconds`` (stretched by the margin)."""
    window = seconds * WINDOW_STRETCH + WINDOW_PAD
    recent = [t for t in times if t > now - window]
    if len(recent) < count:
        return 0.0
    return max(0.0, recent[-count] + window - now)


def quota_of(key: LimitKey, quotas: dict[str, int]) -> int:
    return quotas.get(key.limit.name, key.limit.count) if key.limit.name else key.limit.count


def failure_reserve(quota: int) -> int:
    """How much of a day's quota only failure messages may use: 5 %, and one of a small quota (ServerChan's 5)."""
    return quota // 20 if quota >= 20 else (1 if quota >= 4 else 0)


def allowance(quota: int, kind: str, failure: bool) -> int:
    """How many calls of the day may have been made before this one: failures may use the whole day,
    other final messages all but the reserve, pings and stall alarms one less (room for the final message)."""
    if failure:
        return quota
    final_room = quota - failure_reserve(quota)
    return final_room if kind == "final" else final_room - 1


def used_today(calls: Calls, now: float, zone_name: str = CHINA) -> int:
    """How many of ``calls`` fall in the service's day that holds ``now``."""
    start = day_start(now, zone_name)
    return sum(1 for t, _ in calls if t >= start)


def decide(keys: Sequence[LimitKey], calls: Mapping[str, Calls], now: float, *, kind: str = "final",
           failure: bool = False, digest: str = "", quotas: dict[str, int] | None = None,
           has_fallback: bool = False) -> Decision:
    """Send, hold, drop or fall back, so that no counter of the service goes over its limit."""
    quotas = quotas or {}
    verdict = _daily(keys, calls, now, kind, failure, quotas, has_fallback)
    if verdict.action != Action.SEND:
        return verdict
    wait, lane_wide = 0.0, False
    for key in keys:
        if key.limit.daily:
            continue
        times = [t for t, d in calls.get(key.key, ()) if not key.limit.same_content or d == digest]
        need = pacing_wait(times, now, key.limit.count, key.limit.seconds)
        if need > wait:
            wait, lane_wide = need, not key.limit.same_content
    if wait > 0:
        return Decision(Action.HOLD, until=now + wait, lane_wide=lane_wide,
                        reason=tr("paced: the service's rate limit"))
    return verdict


def _daily(keys: Sequence[LimitKey], calls: Mapping[str, Calls], now: float, kind: str, failure: bool,
           quotas: dict[str, int], has_fallback: bool) -> Decision:
    daily = [k for k in keys if k.limit.daily]
    full = [k for k in daily if used_today(calls.get(k.key, ()), now, k.limit.zone)
            >= allowance(quota_of(k, quotas), kind, failure)]
    if not full:
        return Decision(Action.SEND)
    by_field = {k.limit.by for k in full}
    room = [k for k in daily if k not in full and k.limit.by in by_field]
    label, quota = full[0].label, quota_of(full[0], quotas)
    if kind != "final":
        return Decision(Action.DROP, reason=tr("daily quota of {quota} nearly used ({label}); progress message "
                                               "dropped to keep room for the final one", quota=quota, label=label))
    if room and len(by_field) == 1:  # some recipients still have room today: they get it now
        return Decision(Action.SEND, field=full[0].limit.by, send_to=tuple(k.value for k in room),
                        until=next_day(now, full[0].limit.zone),
                        reason=tr("held until tomorrow: {label} reached its daily limit of {quota}", label=label,
                                  quota=quota))
    if has_fallback:
        return Decision(Action.FALLBACK, reason=tr("daily quota of {quota} reached ({label})", quota=quota,
                                                   label=label))
    return Decision(Action.HOLD, until=next_day(now, full[0].limit.zone),
                    reason=tr("held: daily quota of {quota} reached ({label}); sends after midnight", quota=quota,
                              label=label))


def quota_note(keys: Sequence[LimitKey], calls: Mapping[str, Calls], now: float, quotas: dict[str, int]) -> str:
    """A one-line warning when a daily quota is 80 % used, else ''."""
    for key in keys:
        if key.limit.daily:
            quota, used = quota_of(key, quotas), used_today(calls.get(key.key, ()), now, key.limit.zone)
            if used >= QUOTA_WARN_FRACTION * quota:
                return tr("daily quota nearly used: {used} of {quota} today ({label})", used=used, quota=quota,
                          label=key.label)
    return ""


def since(keys: Sequence[LimitKey], now: float) -> dict[str, float]:
    """How far back each key's calls must be read to judge ``keys``: the day for a daily limit, else the window."""
    start: dict[str, float] = {}
    for key in keys:
        window = key.limit.seconds * WINDOW_STRETCH + WINDOW_PAD
        begin = day_start(now, key.limit.zone) if key.limit.daily else now - window
        start[key.key] = min(begin, start.get(key.key, begin))
    return start


@dataclass(frozen=True)
class Retry:
    """What follows a failed attempt: try again ``until`` (the whole lane when ``lane_wide``), or give up."""

    give_up: bool
    attempts: int  # the item's attempt count after this one
    until: float = 0.0
    lane_wide: bool = False
    reason: str = ""


def after_failure(verdict: Verdict, attempts: int, now: float, rng: Callable[[], float] = random.random,
                  has_fallback: bool = False) -> Retry:
    """Retry or give up after attempt number ``attempts + 1`` failed with ``verdict``.

    A service's wait (``Retry-After``, a cool-down) is honoured but never shorter than the backoff, so a
    ``Retry-After: 0`` cannot burn every attempt in a second; a limited token (HTTP 429, "too many requests")
    holds its whole lane, every message behind it (a message with a fallback goes there rather than wait out a
    cool-down); an unreadable success answer may have arrived, so it is tried once more at most.
    """
    done, reason = attempts + 1, verdict.reason
    if verdict.unknown and done >= UNKNOWN_TRIES:
        return Retry(True, done, reason=tr("{why}; it may have arrived, so it is not sent again", why=reason))
    if verdict.outcome != "retry" or done >= MAX_ATTEMPTS:
        if verdict.outcome == "retry":
            reason = tr("{why} (gave up after {n} attempts)", why=reason, n=done)
        return Retry(True, done, reason=reason)
    wait = max(verdict.retry_after or 0.0, backoff(done, rng))
    until = now + wait
    if verdict.unknown:
        reason = tr("{why}; it may have arrived, so it is tried once more only", why=reason)
    elif verdict.limited and wait >= COOLDOWN:
        reason = tr("{why}; every message to this token waits until {time} (cool-down)", why=reason,
                    time=clock_time(until, now))
        if has_fallback:  # the lane still cools down; this message need not wait for it
            return Retry(True, done, until, True, reason)
    elif verdict.limited:
        reason = tr("{why}; every message to this token waits {seconds:.0f} s", why=reason, seconds=wait)
    return Retry(False, done, until, verdict.limited, reason)


def clock_time(when: float, now: float) -> str:
    """``14:05``, or ``12-08 14:05`` when not today."""
    fmt = "%H:%M" if day_start(when) == day_start(now) else "%m-%d %H:%M"
    return datetime.fromtimestamp(when).strftime(fmt)
