"""Receipts: what became of a message, per destination and in one line.

The sender fills a ``Ticket`` as items settle; ``Receipt`` sums a ticket up for the fronts (the cell's status
line, ``send()``'s return value, the CLI's exit code). Every reason shown here has been redacted.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .i18n import tr
from .status import TERMINAL, Status


@dataclass(frozen=True)
class Result:
    """The latest word on one destination of one notification."""

    dest_label: str
    service: str  # the provider's label, for "sent via WxPusher"
    status: Status
    reason: str = ""
    note: str = ""
    wechat: bool = True  # the service reaches WeChat (apprise's others do not)
    until: float = 0.0  # while pending: when the next attempt is due (epoch seconds), 0 if now

    @property
    def settled(self) -> bool:
        return self.status in TERMINAL

    @property
    def ok(self) -> bool:
        return self.status in (Status.DELIVERED, Status.MERGED)


@dataclass
class Ticket:
    """Handed back by ``submit``: wait on it, or ask to be called when a result changes or all have settled."""

    ids: list[int] = field(default_factory=list)
    results: dict[int, Result] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    _callbacks: list[Callable[[Ticket], None]] = field(default_factory=list)
    _watchers: list[Callable[[Ticket], None]] = field(default_factory=list)

    def wait(self, timeout: float) -> list[Result]:
        self.done.wait(max(0.0, timeout))
        return self.current()

    def current(self) -> list[Result]:
        return [self.results[i] for i in list(self.ids) if i in self.results]

    @property
    def finished(self) -> bool:
        return self.done.is_set()

    def on_done(self, callback: Callable[[Ticket], None]) -> None:
        """Call ``callback(ticket)`` once every destination has settled (at once if it already has)."""
        if self.finished:
            callback(self)
        else:
            self._callbacks.append(callback)

    def on_change(self, callback: Callable[[Ticket], None]) -> None:
        """Call ``callback(ticket)`` after each change of a result that leaves the ticket unsettled (a hold)."""
        self._watchers.append(callback)

    def changed(self) -> None:
        if not self.done.is_set():
            _call_all(self._watchers, self)

    def settle(self) -> None:
        if self.done.is_set():
            return
        self.done.set()
        _call_all(self._callbacks, self)

    def summary(self) -> Receipt:
        """The receipt as it stands now, timed from the submit."""
        return summarize(self.current(), time.monotonic() - self.started)


def _call_all(callbacks: list[Callable[[Ticket], None]], ticket: Ticket) -> None:
    for callback in list(callbacks):
        try:
            callback(ticket)
        except Exception:  # a front's display must never stop the sender
            continue


@dataclass(frozen=True)
class Receipt:
    """What became of a message: ``status`` is delivered, failed, pending (still sending) or skipped."""

    ok: bool
    status: str
    line: str
    results: tuple[Result, ...] = ()

    @property
    def reason(self) -> str:
        """Why it failed (empty unless ``status == "failed"``)."""
        return "; ".join(r.reason for r in self.results if r.status in (Status.FAILED, Status.DROPPED) and r.reason)

    def __str__(self) -> str:
        return self.line


def describe(results: Sequence[Result], elapsed: float, subject: str = "") -> str:
    """One status line: sent, failed with the reason, or still sending in the background (about ``subject``,
    e.g. "200 notifications from cells [2]–[201]", when it is not one message)."""
    sent = [r for r in results if r.ok]
    failed = [r for r in results if r.status in (Status.FAILED, Status.DROPPED)]
    waiting = [r for r in results if not r.settled]
    parts = []
    if sent:
        via = tr(", ").join(dict.fromkeys(r.service for r in sent))
        parts.append(tr("sent via {via} · delivery took {seconds:.1f} s", via=via, seconds=elapsed))
    for r in failed:
        parts.append(tr("failed ({dest}): {why}", dest=r.dest_label, why=r.reason) if r.status == Status.FAILED
                     else tr("dropped ({dest}): {why}", dest=r.dest_label, why=r.reason))
    if waiting:
        why = tr("; ").join(dict.fromkeys(f"{r.service}: {r.reason}" for r in waiting if r.reason))
        parts.append(tr("still sending in the background ({why})", why=why) if why
                     else tr("still sending in the background"))
    notes = list(dict.fromkeys([r.note for r in results if r.note] + [r.reason for r in sent if r.reason]))
    line = tr("; ").join(parts + notes)
    return tr("wxnotify: {subject}: {line}", subject=subject, line=line) if subject else tr("wxnotify: {line}",
                                                                                             line=line)


def summarize(results: Sequence[Result], elapsed: float, subject: str = "") -> Receipt:
    """Any failure fails the receipt, all delivered makes it ok, anything else is still pending."""
    if any(r.status in (Status.FAILED, Status.DROPPED) for r in results):
        status = "failed"
    elif results and all(r.ok for r in results):
        status = "delivered"
    else:
        status = "pending"
    return Receipt(status == "delivered", status, describe(results, elapsed, subject), tuple(results))


def wait_for(ticket: Ticket, timeout: float, reraise: bool = False) -> Receipt:
    """Wait until ``timeout`` seconds after the ticket was made (writing it counts); Ctrl-C stops the wait.

    With ``reraise`` (a script's ``notify()`` and ``send()``), Ctrl-C says in one line that the message stays
    queued, and propagates: the script stops, as it would without wxnotify. Otherwise it only stops the wait.
    """
    try:
        results = ticket.wait(timeout - (time.monotonic() - ticket.started))
    except KeyboardInterrupt:
        if reraise:
            print(tr("wxnotify: interrupted while waiting for the receipt; the message stays queued and is sent in "
                     "the background (at exit, or by the next wxnotify)"), file=sys.stderr, flush=True)
            raise
        results = ticket.current()
    return summarize(results, time.monotonic() - ticket.started)


def report(receipt: Receipt, quiet: bool = False, stream: Any = None) -> None:
    """Print the status line: failures always (to stderr), the rest unless ``quiet``."""
    if receipt.status == "failed":
        print(receipt.line, file=sys.stderr, flush=True)
    elif not quiet:
        print(receipt.line, file=stream or sys.stdout, flush=True)


def skipped(line: str) -> Receipt:
    return Receipt(False, "skipped", line)
