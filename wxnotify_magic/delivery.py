"""The sending loop: outbox first, then send each item when the policy allows, retry, fall back, report.

One sender per process drains the (shared) outbox. Requests behind different tokens go out in parallel (one
worker per lane), so a slow endpoint never holds another service's message. A burst of messages for one
destination that had to wait is merged into one digest. What to do with each item is decided by the pure
``policy``; what the user reads comes from ``receipts``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from . import policy
from .i18n import tr
from .message import Notification, digest
from .outbox import Item, Outbox
from .policy import Action
from .providers import Destination, DestinationError, parse_destination
from .providers.base import LimitKey, Verdict
from .receipts import Result, Ticket
from .redact import guard_http_logs, remember, shorten
from .redis_ledger import shared
from .status import Status
from .ticketbook import TicketBook
from .workers import Pool

LEASE = 120.0
MAX_PAUSE = 2.0  # the longest a front may hold the sender off at a time
CLAIM_WAIT = 0.25  # seconds the loop waits for another process's write lock (a cell may wait behind it)
CLAIM_LANES = 20  # lanes the loop takes at a time
LOCK_GRACE = 1.0  # seconds an exiting process waits for another's write lock before sending from memory
POLL = 0.5  # seconds between looks at what other processes made of this process's waiting items
KEEP_DAYS = 30  # history and call log kept this long
PROGRESS = ("ping", "stall")  # kinds that only say "still running": dropped first, one pending per destination
REASON_LIMIT = 300


class Sender(TicketBook):
    """Drains the outbox in the background: one loop thread, and one worker at a time per lane."""

    def __init__(self, outbox: Outbox, transport: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self._transport = transport
        self.clock = clock
        TicketBook.__init__(self)
        self._wake = threading.Condition()
        self._changed = threading.Condition()
        self._busy: set[str] = set()
        self._held: dict[str, float] = {}  # lane -> until: this sender's latest pacing hold of it
        self._limited: dict[str, tuple[float, str]] = {}  # lane -> (until, why): the service limits the token
        self._warned: set[tuple[str, float]] = set()
        self._thread: threading.Thread | None = None
        self._workers = Pool("wxnotify-send", self._worker_done)  # one lane at a time each, kept between sends
        self._stop = False
        self.pause: Callable[[], float] | None = None  # set by a front that is busy now and then (a kernel)
        outbox.on_renamed = self._rekey

    @property
    def transport(self) -> Any:
        if self._transport is None:
            from .transport import Transport

            self._transport = Transport()
        return self._transport

    # -- public --------------------------------------------------------------------------------------------

    def submit(self, notification: Notification, destinations: Sequence[Destination], kind: str = "final",
               fallbacks: dict[str, Destination] | None = None, quotas: dict[str, int] | None = None,
               wait: float | None = None) -> Ticket:
        """Write to the outbox (before any attempt) and wake the sender; the ticket settles as items do. With
        ``wait``, an item another process keeps from being written within ``wait`` waits in memory."""
        ticket = Ticket()
        notification = notification.cleaned()  # any text a job printed can be stored and sent
        now, wake, claimed = self.clock(), False, []
        # a message to a free lane is claimed as it is written and goes straight to a worker, unless the front
        lease = LEASE if self._sends_now() else None  # holds the sender off (a Run All: a burst, one digest)
        with self._lock:  # a fast worker cannot report before the ticket knows its items
            for dest in destinations:
                fallback = (fallbacks or {}).get(dest.name)
                lane = dest.provider.lane(dest)
                item_id, item = self.outbox.add_claimed(
                    lease, self._busy, provider=dest.provider.name, dest_key=dest.key, dest_label=dest.redacted,
                    dest_url=dest.url, notification=notification.to_dict(), kind=kind, now=now, lane=lane,
                    fallback_url=fallback.url if fallback else "", quotas=quotas, wait=wait)
                if item is not None:
                    self._busy.add(lane)
                    claimed.append(item)
                # a lane this sender holds for pacing goes out when the hold ends (a burst as one digest): the
                # loop already sleeps until then, so waking it now for this item would only cost a claim
                wake = wake or (item is None and (item_id < 0 or self._held.get(lane, 0.0) <= now))
                queued = self.outbox.get(item_id) if item_id < 0 else None
                until, why = self._limited.get(lane, (0.0, ""))  # the receipt says why it waits
                until, why = (until, why) if until > now else (0.0, "")
                self._register(ticket, item_id, Result(dest.redacted, dest.service, Status.PENDING,
                                                       queued.reason if queued else why, wechat=dest.provider.wechat,
                                                       until=until))
        if kind != "final":  # at most one progress message pending per destination: drop the older ones
            self._drop_older(kind, ticket.ids, [d.url for d in destinations])
        for item in claimed:
            self._start_lane(item.lane, [item])
        if wake and self.start():
            self._send_now()
        return ticket

    def _sends_now(self) -> bool:
        """What is due may start from this thread: the loop runs (no ``run_once`` driving) and is not held off."""
        return self.start() and self._thread is not None and self._paused_for() <= 0

    def _send_now(self) -> None:
        """Start what is due on a worker from this thread; else (another process sends on the lane, the front holds
        off, the lock is taken) wake the loop: asleep since before these tickets, it must look out for their fates."""
        if self._sends_now():
            with contextlib.suppress(Exception):
                if self._dispatch(0.0)[0]:
                    return
        self.kick()

    def start(self) -> bool:
        """Start the loop thread if it is not running; False when no thread can start (interpreter exit)."""
        if self._thread is not None and self._thread.is_alive():
            return True
        self._stop = False
        # An empty context: the loop reports to the fronts and must not carry the context of the cell that started
        # it (ipykernel keeps the message parent in a ContextVar).
        thread = threading.Thread(target=contextvars.Context().run, args=(self._run,), name="wxnotify-sender")
        thread.daemon = True
        try:
            thread.start()
        except RuntimeError:  # Python 3.12+ starts no thread from atexit handlers
            return False
        self._thread = thread
        return True

    def kick(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop = True
        self._workers.stop()
        self.kick()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def idle(self, horizon: float | None = None) -> bool:
        """True when nothing is being sent by this process and nothing is due now (or before ``horizon``)."""
        with self._lock:  # the loop claims and marks lanes busy under this lock: no moment in between is idle
            if self._busy:
                return False
            due = self.outbox.next_due()
        return due is None or due > (self.clock() + 0.5 if horizon is None else horizon)

    def flush(self, timeout: float, ahead: bool = False) -> bool:
        """Wait (bounded) until nothing is due now; True when the queue is drained of due items. With ``ahead``
        (at exit), also wait for what becomes due within ``timeout``: a retry after a 503, a pacing hold."""
        deadline = time.monotonic() + timeout

        def idle() -> bool:
            return self.idle(self.clock() + max(0.0, deadline - time.monotonic()) if ahead else None)

        if not self.start():  # no threads at interpreter exit: send from this one
            while not idle() and time.monotonic() < deadline:
                if not self.run_once():  # nothing due yet: sleep until the next item is
                    due = self.outbox.next_due()
                    if due is None or not ahead:
                        break
                    time.sleep(min(max(0.01, due - self.clock()), max(0.0, deadline - time.monotonic())))
            return idle()
        self.kick()
        with self._changed:
            while not idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.5))
        return True

    def unsettled_own(self) -> int:
        """How many of the messages this process submitted are still waiting (after a look at what other
        processes settled)."""
        self._settled_elsewhere()
        with self._lock:
            return sum(1 for i, t in self._tickets.items() if not t.results[i].settled)

    def run_once(self) -> int:
        """Attempt every item due now, lane by lane, in this thread (tests, and exit); return how many."""
        done = 0
        while items := self.outbox.claim(LEASE, now=self.clock(), limit=100, wait=CLAIM_WAIT):
            for item in items:
                self._attempt_safely(item)
            done += len(items)
        return done

    # -- the loop ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._worker_done()

    def _worker_done(self) -> None:
        """A thread of this sender ends: close its connection to the outbox and its HTTP session."""
        with contextlib.suppress(Exception):
            self.outbox.release()
        close = getattr(self._transport, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()

    def _loop(self) -> None:
        with contextlib.suppress(Exception):  # housekeeping must never stop delivery
            self.outbox.prune(self.clock() - KEEP_DAYS * 86400, wait=CLAIM_WAIT)
        while not self._stop:
            with self._wake:  # the front is busy (a Run All): hold off while it says so (kicks too), then send
                while not self._stop and (left := self._paused_for()) > 0:
                    self._wake.wait(left)
            try:
                lanes, busy = self._dispatch(CLAIM_WAIT)
            except Exception:  # a locked or broken database: try again shortly, the outbox keeps everything
                lanes, busy = 0, False
            if lanes >= CLAIM_LANES:  # more lanes may be due now (else a worker's end wakes the loop)
                continue
            waiting = self._settled_elsewhere()
            self._notify_changed()
            with self._wake:
                if not self._stop:
                    sleep = self._sleep_time(busy or bool(lanes))
                    self._wake.wait(min(POLL, sleep) if waiting else sleep)

    def _dispatch(self, wait: float) -> tuple[int, bool]:
        """Claim what is due (within ``wait``), start each lane on a worker; (lanes started, any already busy)."""
        lanes: dict[str, list[Item]] = {}
        with self._lock:
            busy = set(self._busy)
            for item in self.outbox.claim(LEASE, now=self.clock(), limit=CLAIM_LANES, busy_lanes=busy, wait=wait):
                lanes.setdefault(item.lane, []).append(item)
            self._busy.update(lanes)
        for lane, group in lanes.items():
            self._start_lane(lane, group)
        return len(lanes), bool(busy)

    def _start_lane(self, lane: str, items: list[Item]) -> None:
        """Send ``items`` (claimed, their lane marked busy) on a worker."""
        if not self._workers.run(functools.partial(self._work, lane, items)):
            self._work(lane, items)  # interpreter exit: no new threads, send from this one

    def _settled_elsewhere(self) -> bool:
        """Report the items of this process's tickets that another process settled: sent, failed, or merged into
        its digest (and that digest delivered). True while some of them are still waiting."""
        with self._lock:
            carried = {i for followers in self._followers.values() for i in followers}  # this process reports them
            waiting = [i for i, t in self._tickets.items() if i > 0 and i not in carried and not t.results[i].settled]
        if not waiting:
            return False
        try:
            fates = self.outbox.fates(waiting)
        except Exception:  # a locked or broken database: look again later
            return True
        with self._lock:  # a lane this process is sending on reports its own items (with their notes)
            for item_id, (status, reason, lane) in fates.items():
                ticket = self._tickets.get(item_id)
                if lane not in self._busy and ticket is not None and not ticket.results[item_id].settled:
                    note = tr("merged into a message sent by another process") if status == Status.MERGED else ""
                    self._report(item_id, status, reason if status != Status.MERGED else "", note)
        return len(fates) < len(waiting)

    def _paused_for(self) -> float:
        """Seconds the front asks the sender to hold off (``pause()`` is a ``time.monotonic()`` deadline, which
        the front caps: a Run All that goes on still lets the sender take a turn every second)."""
        if self.pause is None:
            return 0.0
        try:
            return min(MAX_PAUSE, max(0.0, self.pause() - time.monotonic()))
        except Exception:
            return 0.0

    def _sleep_time(self, busy: bool) -> float:
        try:
            due = self.outbox.next_due()
        except Exception:
            return 1.0
        if due is None:
            return 30.0
        wait = due - self.clock()
        return 1.0 if busy and wait <= 0 else min(30.0, max(0.01, wait))

    def _work(self, lane: str, items: list[Item]) -> None:
        try:
            for item in items:
                self._attempt_safely(item)
        finally:
            with self._lock:
                self._busy.discard(lane)
            self.kick()
            self._notify_changed()

    def _notify_changed(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # -- one item ------------------------------------------------------------------------------------------

    def _attempt_safely(self, item: Item) -> None:
        """Attempt ``item``; whatever goes wrong, it ends retried or failed with a reason, never stuck."""
        try:
            self._attempt(item)
        except Exception as exc:
            reason = tr("internal error: {kind}: {why}", kind=type(exc).__name__, why=exc)
            with contextlib.suppress(Exception):
                self._retry_or_fail(item, Verdict("retry", reason), item.parts_done, [])

    def _attempt(self, item: Item, read: bool = False) -> None:
        try:
            dest = _destination(item.dest_url)
        except DestinationError as exc:
            self._finish(item, Status.FAILED, str(exc))
            return
        note = Notification.from_dict(item.notification)
        requests = dest.provider.build(note, dest)
        built = (note, dest)
        keys = dest.limit_keys()
        now = self.clock()
        known = None if read else self.outbox.ledger.peek(policy.since(keys, now))  # a shared ledger's, no trip
        calls = known if known is not None else self.outbox.calls_since(policy.since(keys, now))
        decision = policy.decide(keys, calls, now, kind=item.kind, failure=note.status == "failed",
                                 digest=policy.content_digest(requests[0].json if requests else ""), quotas=item.quotas,
                                 has_fallback=bool(item.fallback_url))
        if known is not None and (decision.action != Action.SEND or decision.send_to is not None):
            self._attempt(item, read=True)  # the take checks the last known calls; anything else is read first
            return
        if decision.action == Action.HOLD:
            self._hold(item, decision)
        elif decision.action == Action.DROP:
            self._finish(item, Status.DROPPED, decision.reason)
        elif decision.action == Action.FALLBACK:
            self._hand_to_fallback(item, decision.reason)
            self._finish(item, Status.FAILED, tr("{why}; handed to the fallback", why=decision.reason))
        else:
            if decision.send_to is not None:
                dest = self._split(item, dest, decision)
                keys = dest.limit_keys()
            if item.kind == "final":
                note = self._merge_burst(item, note)
            _, figure_note = dest.provider.figures(note)  # figures this service cannot carry: say which
            if (note, dest) != built:  # merged or split: build again
                requests = dest.provider.build(note, dest)
            self._send_all(item, dest, requests, keys, figure_note)

    def _hold(self, item: Item, decision: policy.Decision) -> None:
        if decision.lane_wide:  # the whole lane waits as long: one update, not one per item
            self.outbox.hold_lane(item.lane, decision.until)
            self._held[item.lane] = decision.until
        self.outbox.update(item.id, status=Status.PENDING, next_try=decision.until, reason=decision.reason)
        self._report(item.id, Status.PENDING, decision.reason, until=decision.until)

    def _split(self, item: Item, dest: Destination, decision: policy.Decision) -> Destination:
        """Send now to the recipients with room today; the others get their own item, due tomorrow."""
        assert decision.send_to is not None
        keep = [v for v in dest.values[decision.field] if v in decision.send_to]
        later = dest.narrowed(decision.field, [v for v in dest.values[decision.field] if v not in keep])
        now_dest = dest.narrowed(decision.field, keep)
        with self._lock:
            held = self.outbox.add(provider=item.provider, dest_key=later.key, dest_label=later.redacted,
                                   dest_url=later.url, notification=item.notification, kind=item.kind,
                                   fallback_url=item.fallback_url, now=self.clock(), lane=item.lane,
                                   quotas=item.quotas)
            self.outbox.update(held, next_try=decision.until, reason=decision.reason)
            self.outbox.update(item.id, dest_url=now_dest.url, dest_label=now_dest.redacted)
            ticket = self._tickets.get(item.id)
            if ticket is not None:
                self._register(ticket, held, Result(later.redacted, dest.service, Status.PENDING,
                                                    decision.reason, wechat=dest.provider.wechat,
                                                    until=decision.until))
                old = ticket.results[item.id]
                ticket.results[item.id] = replace(old, dest_label=now_dest.redacted)
        return now_dest

    def _merge_burst(self, item: Item, note: Notification) -> Notification:
        """Merge the other messages waiting for this destination into this one (pending pings are dropped) in one
        transaction; the tickets learn of it after it (a submitting thread holds their lock while it writes)."""
        reason, merged = tr("merged into message #{id}", id=item.id), note
        with self.outbox.batch():
            pings = self.outbox.take_pending(item.dest_url, exclude=item.id, kinds=PROGRESS, status=Status.DROPPED,
                                             reason=reason)
            others = self.outbox.take_pending(item.dest_url, exclude=item.id, kinds=("final",),
                                              status=Status.MERGED, reason=reason, into=item.id)
            if others:
                ran = sorted([(item.id, note), *((o.id, Notification.from_dict(o.notification)) for o in others)],
                             key=lambda pair: pair[0])  # in the order they were submitted, whichever goes first
                merged = digest([n for _, n in ran])
                self.outbox.update(item.id, notification=json.dumps(merged.to_dict(), ensure_ascii=False))
        for ping in pings:
            self._report(ping.id, Status.DROPPED, tr("replaced by a newer message"))
        if others:
            with self._lock:
                self._followers.setdefault(item.id, []).extend(o.id for o in others)
        return merged

    def _send_all(self, item: Item, dest: Destination, requests: list[Any], keys: list[LimitKey],
                  extra_note: str = "") -> None:
        verdict, notes, parts_done = Verdict("delivered"), [], item.parts_done
        for index, request in enumerate(requests[parts_done:]):
            counted = [k.key for k in keys if index == 0 or not k.limit.daily]
            rows = (self._take_room(item, keys, counted, policy.content_digest(request.json)) if index == 0 else
                    self.outbox.log_call(counted, policy.content_digest(request.json), now=self.clock()))
            if rows is None:  # another lane, process or host took the room first: decide again
                self.outbox.update(item.id, status=Status.PENDING, next_try=self.clock())
                return
            verdict, answered = self._send(request, dest)
            if answered:  # counted from the answer: the next call cannot reach the service early, whatever latency
                self.outbox.stamp_calls(rows, self.clock())
            else:  # only calls the service answered count toward its limits
                self.outbox.forget_calls(rows)
            if not verdict.ok:
                break
            if verdict.reason:
                notes.append(verdict.reason)
            parts_done += 1
        if verdict.ok:
            note = "; ".join(x for x in (extra_note, self._quota_note(keys, item.quotas or {})) if x)
            self._finish(item, Status.DELIVERED, "; ".join(notes), note=note, parts_done=parts_done,
                         secrets=dest.secrets)
        else:
            self._retry_or_fail(item, verdict, parts_done, dest.secrets)

    def _take_room(self, item: Item, keys: list[LimitKey], counted: list[str], digest: str) -> list[Any] | None:
        """Count the call if the policy still lets it go, in one step with the check (lanes decide in parallel)."""
        now, failure = self.clock(), item.notification.get("status") == "failed"

        def room(calls: policy.CallMap) -> bool:
            decision = policy.decide(keys, calls, now, kind=item.kind, failure=failure, digest=digest,
                                     quotas=item.quotas, has_fallback=bool(item.fallback_url))
            return decision.action == Action.SEND and decision.send_to is None

        return self.outbox.take_call(policy.since(keys, now), counted, room, digest, now)

    def _send(self, request: Any, dest: Destination) -> tuple[Verdict, bool]:
        """The service's verdict, and whether it answered at all."""
        from .transport import TransportError

        send = dest.provider.send or self.transport.send  # apprise sends by itself
        remember(dest.secrets)  # what the service or a library logs or answers hides them and any part of them
        guard_http_logs()  # apprise sends without our transport: its and urllib3's records are redacted too
        try:
            response = send(dest.provider.signed(request, dest), dest.secrets)
        except TransportError as exc:
            return Verdict("retry", str(exc)), False
        return dest.provider.judge(response), True

    def _retry_or_fail(self, item: Item, verdict: Verdict, parts_done: int, secrets: list[str]) -> None:
        verdict = replace(verdict, reason=shorten(verdict.reason, REASON_LIMIT, secrets))
        plan = policy.after_failure(verdict, item.attempts, self.clock(), has_fallback=bool(item.fallback_url))
        if plan.lane_wide:  # the service limits the token: every message behind it waits as long
            self.outbox.hold_lane(item.lane, plan.until)
            self._held[item.lane] = plan.until
            self._limited[item.lane] = (plan.until, plan.reason)
        if not plan.give_up:
            self.outbox.update(item.id, status=Status.PENDING, attempts=plan.attempts, parts_done=parts_done,
                               next_try=plan.until, reason=plan.reason)
            self._report(item.id, Status.PENDING, plan.reason, until=plan.until)
            return
        self._hand_to_fallback(item, plan.reason)
        self._finish(item, Status.FAILED, plan.reason, parts_done=parts_done, attempts=plan.attempts)

    def _quota_note(self, keys: list[LimitKey], quotas: dict[str, int]) -> str:
        daily = [k for k in keys if k.limit.daily]
        if not daily:
            return ""
        now = self.clock()
        calls = self.outbox.ledger.peek(since := policy.since(daily, now))  # a shared ledger knows: no round trip
        note = policy.quota_note(daily, self.outbox.calls_since(since) if calls is None else calls, now, quotas)
        mark = (note.split("(")[-1], policy.day_start(now))
        if not note or mark in self._warned:
            return ""
        self._warned.add(mark)
        return note

    def _hand_to_fallback(self, item: Item, why: str) -> None:
        if not item.fallback_url:
            return
        try:
            fallback = parse_destination(item.fallback_url)
        except DestinationError:
            return
        with self._lock:
            new_id = self.outbox.add(provider=fallback.provider.name, dest_key=fallback.key,
                                     dest_label=fallback.redacted, dest_url=fallback.url,
                                     notification=item.notification, kind=item.kind, now=self.clock(),
                                     lane=fallback.provider.lane(fallback), quotas=item.quotas)
            ticket = self._tickets.get(item.id)
            if ticket is not None:
                self._register(ticket, new_id, Result(fallback.redacted, fallback.service, Status.PENDING,
                                                      tr("fallback ({why})", why=why), wechat=fallback.provider.wechat))
        self.kick()

    def _drop_older(self, kind: str, keep: Sequence[int], dest_urls: Iterable[str]) -> None:
        reason = tr("replaced by a newer progress message")
        for url in set(dest_urls):
            for old in self.outbox.take_pending(url, keep=keep, kinds=(kind,), status=Status.DROPPED, reason=reason):
                self._report(old.id, Status.DROPPED, reason)

    def _finish(self, item: Item, status: Status, reason: str, note: str = "", secrets: Sequence[str] = (),
                **fields: int) -> None:
        reason = shorten(reason, REASON_LIMIT, secrets)
        self.outbox.update(item.id, status=status, reason=reason, **fields)
        with self._lock:
            followers = self._followers.pop(item.id, [])
        if followers:
            merged = tr("{n} messages merged into one", n=len(followers) + 1)
            note = "; ".join(x for x in (note, merged) if x)
            for other in followers:  # each merged message's receipt says what its digest's receipt says
                self._report(other, Status.MERGED if status == Status.DELIVERED else status, reason, note)
        self._report(item.id, status, reason, note)
        self._notify_changed()


_destination = functools.lru_cache(maxsize=256)(parse_destination)  # a lane sends to the same few URLs again


# ------------------------------------------------------------------------------------------- the process's


_senders: dict[str, Sender] = {}
_lock = threading.Lock()


def get_sender() -> Sender:
    """The process-wide sender over the outbox in the state folder (one per folder)."""
    from .paths import state_dir

    folder = state_dir()
    with _lock:
        sender = _senders.get(str(folder))
        if sender is None:
            sender = _senders[str(folder)] = Sender(Outbox(folder / "outbox.sqlite3"))
            sender.outbox.ledger = shared(sender.outbox.ledger, os.environ.get("WXNOTIFY_LEDGER", "").strip())
        return sender


def current_sender() -> Sender | None:
    """The sender of this process if one was made, without making one."""
    with _lock:
        return next(iter(_senders.values()), None)


def _forget_after_fork() -> None:
    """In a forked child: never touch the parent's sender, threads or SQLite connections (children never send
    what the parent queued). They are kept referenced, so no connection is closed from the child either."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    _orphans.extend(_senders.values())
    _senders.clear()


_orphans: list[Sender] = []
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def reset_sender() -> None:
    """Stop and forget the process's senders (unload, tests, a changed WXNOTIFY_HOME)."""
    with _lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.stop()
        sender.outbox.close()


def flush_and_stop(timeout: float, own: bool = False) -> int:
    """Give notifications due within ``timeout`` a bounded chance to go out, then stop the senders; return how
    many are pending in the outbox (with ``own``: how many of those this process submitted)."""
    with _lock:
        senders = list(_senders.values())
    pending = 0
    try:
        for sender in senders:
            with contextlib.suppress(Exception):
                if sender.outbox.queued and not sender.flush(min(timeout, LOCK_GRACE)) and sender.outbox.queued:
                    sender.stop()  # another process keeps the file locked: send from memory rather than lose them
                    sender.outbox.use_memory(tr("the outbox is locked by another process"))
                if sender.outbox.next_due() is not None:
                    sender.flush(timeout, ahead=True)
                pending += sender.unsettled_own() if own else sender.outbox.unsettled()
    finally:
        reset_sender()
    return pending
