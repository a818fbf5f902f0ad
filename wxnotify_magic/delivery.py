"""Background delivery: outbox first, then send with pacing, retries with backoff, quotas and fallbacks."""

from __future__ import annotations

import contextlib
import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .message import Notification
from .outbox import Item, Outbox
from .providers import Destination, DestinationError, get_provider, parse_destination
from .providers.base import Provider, Verdict
from .settings import state_dir

MAX_ATTEMPTS = 6
BASE_BACKOFF, MAX_BACKOFF = 2.0, 600.0
LEASE = 120.0
QUOTA_WARN_FRACTION = 0.8
KEEP_DAYS = 30  # history and call log kept this long


# ------------------------------------------------------------------------------------------- pure functions


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: about 2, 4, 8 ... seconds, capped at ten minutes."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


def day_start(now: float) -> float:
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def pacing_wait(calls: Sequence[float], now: float, rates: Sequence[tuple[int, float]]) -> float:
    """Seconds to wait so that one more call keeps every (calls, seconds) window within its limit."""
    wait = 0.0
    for limit, window in rates:
        recent = [t for t in calls if t > now - window]
        if len(recent) >= limit:
            wait = max(wait, recent[-limit] + window - now)
    return max(0.0, wait)


def daily_quota(provider: Provider, overrides: dict[str, int]) -> int | None:
    return overrides.get(provider.name, provider.daily)


def content_digest(request_json: object) -> str:
    return hashlib.sha256(repr(request_json).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ results


@dataclass
class Result:
    """The latest word on one destination of one notification."""

    dest_label: str
    provider: str
    status: str  # pending | sending | delivered | failed | dropped
    reason: str = ""
    note: str = ""


@dataclass
class Ticket:
    """Handed back by ``submit``: wait on it for the receipts."""

    ids: list[int]
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    results: dict[int, Result] = field(default_factory=dict)

    def wait(self, timeout: float) -> list[Result]:
        self.done.wait(max(0.0, timeout))
        return [self.results[i] for i in self.ids if i in self.results]

    @property
    def finished(self) -> bool:
        return self.done.is_set()


# ------------------------------------------------------------------------------------------------- sender


class Sender:
    """One background thread per process that drains the (shared) outbox."""

    def __init__(self, outbox: Outbox, transport: object | None = None,
                 quotas: Callable[[], dict[str, int]] = dict, clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self._transport = transport
        self.quotas = quotas
        self.clock = clock
        self._wake = threading.Condition()
        self._tickets: dict[int, Ticket] = {}
        self._thread: threading.Thread | None = None
        self._stop = False
        self._busy = False
        self._warned: set[tuple[str, float]] = set()

    @property
    def transport(self) -> object:
        if self._transport is None:
            from .transport import Transport

            self._transport = Transport()
        return self._transport

    # -- public --------------------------------------------------------------------------------------------

    def submit(self, notification: Notification, destinations: Sequence[Destination], kind: str = "final",
               fallbacks: dict[str, Destination] | None = None) -> Ticket:
        """Write to the outbox (before any attempt) and wake the sender."""
        ids = []
        for dest in destinations:
            fallback = (fallbacks or {}).get(dest.name)
            ids.append(self.outbox.add(provider=dest.provider, dest_key=dest.key, dest_label=dest.redacted,
                                       dest_url=dest.url, notification=notification.to_dict(), kind=kind,
                                       fallback_url=fallback.url if fallback else "", now=self.clock()))
        ticket = Ticket(ids)
        for i, dest in zip(ids, destinations, strict=True):
            self._tickets[i] = ticket
            ticket.results[i] = Result(dest.redacted, dest.provider, "pending")
        if kind == "ping":  # at most one ping pending per destination: drop the older ones
            self._drop_older_pings(ids, {d.key for d in destinations})
        self.start()
        self.kick()
        return ticket

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="wxnotify-sender", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop = True
        self.kick()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def flush(self, timeout: float) -> bool:
        """Wait (bounded) until nothing is due now; True when the queue is drained of due items."""
        deadline = time.monotonic() + timeout
        self.start()
        self.kick()
        while time.monotonic() < deadline:
            due = self.outbox.next_due()
            if (due is None or due > self.clock() + 0.5) and not self._busy:
                return True
            time.sleep(0.02)
        return False

    def run_once(self) -> int:
        """Attempt every due item now (used by the thread, the CLI and tests); return how many."""
        items = self.outbox.claim(LEASE, now=self.clock())
        for item in items:
            self._attempt(item)
        return len(items)

    # -- the loop ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        with contextlib.suppress(Exception):  # housekeeping must never stop delivery
            self.outbox.prune(self.clock() - KEEP_DAYS * 86400)
        while not self._stop:
            try:
                self._busy = True
                worked = self.run_once()
            except Exception:  # never let the thread die; the outbox keeps everything
                worked = 0
            finally:
                self._busy = False
            if worked:
                continue
            due = self.outbox.next_due()
            delay = 30.0 if due is None else min(30.0, max(0.01, due - self.clock()))
            with self._wake:
                if not self._stop:
                    self._wake.wait(delay)

    def _attempt(self, item: Item) -> None:
        try:
            dest = parse_destination(item.dest_url)
        except DestinationError as exc:
            self._finish(item, "failed", str(exc))
            return
        provider = get_provider(dest.provider)
        notification = Notification.from_dict(item.notification)
        requests = provider.build(notification, dest)
        now = self.clock()
        # quotas: hold and pace rather than exceed
        hold = self._hold(item, provider, dest, now, content_digest(requests[0].json if requests else ""))
        if hold is not None:
            return
        receipt = Verdict("delivered")
        parts_done = item.parts_done
        notes = []
        for request in requests[parts_done:]:
            self.outbox.log_call(dest.key, content_digest(request.json), now=self.clock())
            receipt = self._send(provider, request, dest.secrets)
            if not receipt.ok:
                break
            if receipt.reason:
                notes.append(receipt.reason)
            parts_done += 1
        if receipt.ok:
            self._finish(item, "delivered", "; ".join(notes), parts_done=parts_done,
                         note=self._quota_note(provider, dest))
        elif receipt.outcome == "retry" and item.attempts + 1 < MAX_ATTEMPTS:
            wait = receipt.retry_after if receipt.retry_after is not None else backoff(item.attempts + 1)
            self.outbox.update(item.id, status="pending", attempts=item.attempts + 1, parts_done=parts_done,
                               next_try=self.clock() + wait, reason=receipt.reason)
            self._report(item.id, "pending", receipt.reason)
        else:
            reason = receipt.reason + (" (gave up after retries)" if receipt.outcome == "retry" else "")
            self._hand_to_fallback(item, reason)
            self._finish(item, "failed", reason, parts_done=parts_done, attempts=item.attempts + 1)

    def _send(self, provider: Provider, request: object, secrets: list[str]) -> Verdict:
        from .transport import TransportError

        try:
            response = self.transport.send(request, secrets)  # type: ignore[attr-defined]
        except TransportError as exc:
            return Verdict("retry", str(exc))
        return provider.judge(response)

    def _hold(self, item: Item, provider: Provider, dest: Destination, now: float, digest: str) -> float | None:
        """Reschedule ``item`` when sending now would break a rate limit or quota; return the new time."""
        quota = daily_quota(provider, self.quotas())
        today = day_start(now)
        window = max([w for _, w in provider.rates] + [3600.0 if provider.same_content_per_hour else 0.0])
        calls = self.outbox.calls_since(dest.key, min(today, now - window))
        if quota is not None and len([t for t in calls if t >= today]) >= quota:
            if item.kind == "ping":
                self._finish(item, "dropped", "daily quota reached; progress ping dropped")
                return now
            if item.fallback_url:
                self._hand_to_fallback(item, "over quota")
                self._finish(item, "failed", f"daily quota of {quota} reached; handed to the fallback")
                return now
            until = today + 86400 + 1
            self.outbox.update(item.id, status="pending", next_try=until,
                               reason=f"held: daily quota of {quota} reached, sends after midnight")
            self._report(item.id, "pending", f"held: {provider.label} daily quota of {quota} reached")
            return until
        if item.kind == "ping" and quota is not None and len([t for t in calls if t >= today]) >= quota - 1:
            self._finish(item, "dropped", "quota tight; progress ping dropped to keep room for the final message")
            return now
        wait = pacing_wait(calls, now, provider.rates)
        if provider.same_content_per_hour:
            same = self.outbox.calls_since(dest.key, now - 3600, digest)
            if len(same) >= provider.same_content_per_hour:
                wait = max(wait, same[-provider.same_content_per_hour] + 3600 - now)
        if wait > 0:
            self.outbox.update(item.id, status="pending", next_try=now + wait,
                               reason=f"paced: {provider.label} rate limit")
            return now + wait
        return None

    def _quota_note(self, provider: Provider, dest: Destination) -> str:
        quota = daily_quota(provider, self.quotas())
        if quota is None:
            return ""
        now = self.clock()
        used = len(self.outbox.calls_since(dest.key, day_start(now)))
        key = (dest.key, day_start(now))
        if used >= QUOTA_WARN_FRACTION * quota and key not in self._warned:
            self._warned.add(key)
            return f"{provider.label} daily quota nearly used: {used} of {quota} today"
        return ""

    def _hand_to_fallback(self, item: Item, why: str) -> None:
        if not item.fallback_url:
            return
        try:
            fallback = parse_destination(item.fallback_url)
        except DestinationError:
            return
        ticket = self._tickets.get(item.id)
        new_id = self.outbox.add(provider=fallback.provider, dest_key=fallback.key, dest_label=fallback.redacted,
                                 dest_url=fallback.url, notification=item.notification, kind=item.kind,
                                 now=self.clock())
        if ticket is not None:
            ticket.ids.append(new_id)
            ticket.results[new_id] = Result(fallback.redacted, fallback.provider, "pending", f"fallback ({why})")
            self._tickets[new_id] = ticket
        self.kick()

    def _drop_older_pings(self, keep: Sequence[int], dest_keys: set[str]) -> None:
        for old in self.outbox.items("pending", limit=200):
            if old.kind == "ping" and old.id not in keep and old.dest_key in dest_keys:
                self._finish(old, "dropped", "replaced by a newer progress ping")

    # -- bookkeeping -----------------------------------------------------------------------------------------

    def _finish(self, item: Item, status: str, reason: str, note: str = "", **fields: int) -> None:
        self.outbox.update(item.id, status=status, reason=reason, **fields)
        self._report(item.id, status, reason, note)

    def _report(self, item_id: int, status: str, reason: str, note: str = "") -> None:
        ticket = self._tickets.get(item_id)
        if ticket is None:
            return
        old = ticket.results.get(item_id)
        ticket.results[item_id] = Result(old.dest_label if old else "", old.provider if old else "",
                                         status, reason, note)
        if all(r.status in ("delivered", "failed", "dropped") for r in ticket.results.values()):
            ticket.done.set()
            for i in ticket.ids:
                self._tickets.pop(i, None)


_sender: Sender | None = None
_lock = threading.Lock()


def get_sender(quotas: Callable[[], dict[str, int]] | None = None) -> Sender:
    """The process-wide sender, over the outbox in the state folder; ``quotas`` replaces its quota source."""
    global _sender
    with _lock:
        if _sender is None:
            _sender = Sender(Outbox(state_dir() / "outbox.sqlite3"))
        if quotas is not None:
            _sender.quotas = quotas
        return _sender


def reset_sender() -> None:
    """Stop and forget the process-wide sender (unload, tests, a changed WXNOTIFY_HOME)."""
    global _sender
    with _lock:
        if _sender is not None:
            _sender.stop()
            _sender.outbox.close()
        _sender = None


def describe(results: Sequence[Result], elapsed: float) -> str:
    """One status line for the cell: sent, failed with the reason, or still sending in the background."""
    from .providers import PROVIDERS

    def label(r: Result) -> str:
        return PROVIDERS[r.provider].label if r.provider in PROVIDERS else r.provider

    sent = [r for r in results if r.status == "delivered"]
    failed = [r for r in results if r.status in ("failed", "dropped")]
    waiting = [r for r in results if r.status not in ("delivered", "failed", "dropped")]
    parts = []
    if sent:
        via = ", ".join(dict.fromkeys(label(r) for r in sent))
        parts.append(f"sent to WeChat via {via} · {elapsed:.1f} s")
    for r in failed:
        parts.append(f"failed ({r.dest_label}): {r.reason}")
    if waiting:
        why = "; ".join(dict.fromkeys(f"{label(r)}: {r.reason}" for r in waiting if r.reason))
        parts.append("still sending in the background" + (f" ({why})" if why else ""))
    notes = [r.note for r in results if r.note] + [f"note: {r.reason}" for r in sent if r.reason]
    return "wxnotify: " + "; ".join(parts + notes)


@dataclass(frozen=True)
class Receipt:
    """What became of a message: ``status`` is delivered, failed, pending (still sending) or skipped (rank)."""

    ok: bool
    status: str
    line: str
    results: tuple[Result, ...] = ()

    @property
    def reason(self) -> str:
        """Why it failed (empty unless ``status == "failed"``)."""
        return "; ".join(r.reason for r in self.results if r.status in ("failed", "dropped") and r.reason)

    def __str__(self) -> str:
        return self.line


def receipt(results: Sequence[Result], elapsed: float) -> Receipt:
    """Sum up the results of one ticket: any failure fails it, all delivered is ok, else still pending."""
    if any(r.status in ("failed", "dropped") for r in results):
        status = "failed"
    elif results and all(r.status == "delivered" for r in results):
        status = "delivered"
    else:
        status = "pending"
    return Receipt(status == "delivered", status, describe(results, elapsed), tuple(results))


def wait_for(ticket: Ticket, timeout: float) -> Receipt:
    """Wait at most ``timeout`` seconds for ``ticket``; Ctrl-C while waiting just stops the wait."""
    started = time.monotonic()
    try:
        results = ticket.wait(timeout)
    except KeyboardInterrupt:
        results = [ticket.results[i] for i in ticket.ids if i in ticket.results]
    return receipt(results, time.monotonic() - started)


def report(receipt: Receipt, quiet: bool = False, stream: Any = None) -> None:
    """Print the status line: failures always (to stderr), the rest unless ``quiet``."""
    import sys

    if receipt.status == "failed":
        print(receipt.line, file=sys.stderr, flush=True)
    elif not quiet:
        print(receipt.line, file=stream or sys.stdout, flush=True)


def flush_and_stop(timeout: float) -> None:
    """Give due notifications a bounded chance to go out, then stop the sender (kernel exit, unload)."""
    sender = _sender
    if sender is None:
        return
    try:
        if sender.outbox.next_due() is not None:
            sender.flush(timeout)
    finally:
        reset_sender()
