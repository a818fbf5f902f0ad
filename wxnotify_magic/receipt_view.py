"""Receipts in IPython: shown at once and updated in place in a kernel, after a bounded wait in a terminal.

In a kernel a cell returns as soon as its notification is in the outbox. Its receipt is displayed with a display
id (``wxnotify: sending…``) and updated in place when delivery settles or is held. An update published while no
cell runs carries the finished cell's parent message, which nbclient drops, so it is published again from the
next cell's ``pre_run_cell`` (JupyterLab applies both; the second is harmless). ``wait()`` (``%wxnotify wait``)
blocks until every receipt has settled, so a notebook can end with its final receipts. A terminal has no display
ids: there a cell waits at most ``WxNotify.wait`` and prints one line, as before.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .i18n import tr
from .receipts import Receipt, Ticket, report, wait_for
from .status import Status


@dataclass
class _Shown:
    """One receipt being followed: its ticket, its display id (kernel) and the text shown last."""

    ticket: Ticket
    display_id: str = ""  # empty: printed in a terminal as still sending; wait() prints the outcome
    quiet: bool = False
    text: str = ""


class ReceiptView:
    """The receipts of one IPython shell; the cell hooks call ``cell_started``/``cell_ended`` around each cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.kernel = hasattr(shell, "kernel")  # a terminal prints a display update as a stray line: never there
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._in_cell = False
        self._stale: dict[str, dict[str, str]] = {}  # display id -> last update published while no cell ran
        self._open: dict[int, _Shown] = {}
        self._ids = itertools.count(1)
        self._prefix = f"wxnotify-{uuid.uuid4().hex[:12]}-"  # display ids unique across kernels and restarts

    # -- around each cell (main thread) ---------------------------------------------------------------------

    def cell_started(self) -> None:
        """Publish again, under this cell's parent, what was updated while the kernel was idle."""
        with self._lock:
            self._in_cell = True
            stale, self._stale = self._stale, {}
            for display_id, bundle in stale.items():
                _publish(self.shell, bundle, display_id, update=True)

    def cell_ended(self) -> None:
        with self._lock:
            self._in_cell = False

    # -- showing ----------------------------------------------------------------------------------------------

    def show(self, ticket: Ticket, quiet: bool, wait: float) -> None:
        """In a running kernel cell: display now and update later. Elsewhere: wait at most ``wait``, print."""
        if self.kernel and self._in_cell and threading.current_thread() is threading.main_thread():
            self._display(ticket, quiet)
            return
        report(wait_for(ticket, wait), quiet)
        if not ticket.finished:
            with self._lock:
                if len(self._open) >= KEEP:  # outcomes nobody waited for: keep the latest only
                    for key in [k for k, s in self._open.items() if s.ticket.finished][: KEEP // 2]:
                        del self._open[key]
                self._open[id(ticket)] = _Shown(ticket, quiet=quiet)
            ticket.on_done(self._settled)

    def _display(self, ticket: Ticket, quiet: bool) -> None:
        shown = _Shown(ticket, f"{self._prefix}{next(self._ids)}", quiet)
        shown.text = "" if quiet else tr("wxnotify: sending…")
        with self._lock:
            self._open[id(ticket)] = shown
            _publish(self.shell, {"text/plain": shown.text}, shown.display_id, update=False)
        ticket.on_change(lambda t: self._update(shown))
        ticket.on_done(lambda t: self._update(shown))
        if any(r.status != Status.PENDING or r.reason for r in ticket.current()):
            self._update(shown)  # it changed before the callbacks were in place

    def _update(self, shown: _Shown) -> None:
        """Show the receipt as it stands now (any thread); forget it once it has settled."""
        with self._lock:  # read under the lock: a late call never shows an older state than an earlier one
            text = _text(shown.ticket.summary(), shown.quiet)
            if text != shown.text:
                shown.text = text
                bundle = {"text/plain": text}
                _publish(self.shell, bundle, shown.display_id, update=True)
                if not self._in_cell:
                    self._stale[shown.display_id] = bundle
            if shown.ticket.finished:
                self._open.pop(id(shown.ticket), None)
            self._changed.notify_all()

    def _settled(self, ticket: Ticket) -> None:
        with self._lock:
            self._changed.notify_all()

    # -- waiting ----------------------------------------------------------------------------------------------

    def wait(self, timeout: float) -> list[Receipt | str]:
        """Wait until every receipt shown by this shell has settled (at most ``timeout`` seconds; messages held
        past then by a quota do not count). Returns the late receipts to print (terminal) and a summary line."""
        deadline = time.monotonic() + timeout
        with self._lock:
            watched = list(self._open.values())
            while True:  # a shown receipt counts once its last update is out (it then leaves _open)
                waiting = [s for s in self._open.values()
                           if not (s.ticket.finished and not s.display_id) and not _held_past(s.ticket, deadline)]
                remaining = deadline - time.monotonic()
                if not waiting or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
            for shown in watched:
                if shown.ticket.finished:
                    self._open.pop(id(shown.ticket), None)
        if not watched:
            return [tr("wxnotify: every notification has settled")]
        late: list[Receipt | str] = [s.ticket.summary() for s in watched if not s.display_id and s.ticket.finished]
        return [*late, _summary(watched, timeout)]


KEEP = 200  # receipts followed at most (a terminal's late outcomes wait for %wxnotify wait)
LONG_WAIT = 5.0  # a pending receipt says why only when the next attempt is at least this far off


def _text(receipt: Receipt, quiet: bool) -> str:
    """A failure always shows; the rest unless quiet; a short wait (pacing, a quick retry) stays 'sending…'."""
    if receipt.status == "failed":
        return receipt.line
    if quiet:
        return ""
    waiting = [r for r in receipt.results if not r.settled]
    if receipt.status == "pending" and not any(r.reason and r.until - time.time() >= LONG_WAIT for r in waiting):
        return tr("wxnotify: sending…")
    return receipt.line


def _held_past(ticket: Ticket, deadline: float) -> bool:
    """True when every destination still open waits (quota or backoff) until after ``deadline`` (monotonic)."""
    if ticket.finished:
        return False
    wall = time.time() + (deadline - time.monotonic())
    open_results = [r for r in ticket.current() if not r.settled]
    return bool(open_results) and all(r.until > wall for r in open_results)


def _summary(watched: list[_Shown], timeout: float) -> str:
    settled = [s for s in watched if s.ticket.finished]
    held = [s for s in watched if _held_past(s.ticket, time.monotonic())]
    sending = len(watched) - len(settled) - len(held)
    parts = [tr("wxnotify: {n} notification(s) settled", n=len(settled))]
    if held:
        why = "; ".join(dict.fromkeys(r.reason for s in held for r in s.ticket.current() if not r.settled and r.reason))
        parts.append(tr("{n} held ({why})", n=len(held), why=why) if why else tr("{n} held", n=len(held)))
    if sending:
        parts.append(tr("{n} still sending after {seconds:g} s", n=sending, seconds=timeout))
    return "; ".join(parts)


def _publish(shell: Any, bundle: dict[str, str], display_id: str, update: bool) -> None:
    """``display(bundle, raw=True, display_id=..., update=...)``, made cheap for a Run All of many cells.

    ipykernel's publisher flushes stdout and stderr before each message, a round trip to its IO thread each. The
    receipt only needs that when the cell's output is still buffered (so it shows before the receipt); an
    update replaces a display in place, so it never does. Any other publisher gets the documented call.
    """
    pub = getattr(shell, "display_pub", None)
    session, socket = getattr(pub, "session", None), getattr(pub, "pub_socket", None)
    if pub is None or session is None or socket is None or not hasattr(pub, "_hooks"):
        from IPython.display import display

        display(bundle, raw=True, display_id=display_id, update=update)
        return
    if not update:
        for stream in (sys.stdout, sys.stderr):
            if getattr(stream, "_flush_pending", True):
                stream.flush()
    content = {"data": bundle, "metadata": {}, "transient": {"display_id": display_id}}
    msg = session.msg("update_display_data" if update else "display_data", content, parent=pub.parent_header)
    for hook in pub._hooks:  # an ipywidgets Output capturing this thread's displays, for one
        msg = hook(msg)
        if msg is None:
            return
    session.send(socket, msg, ident=pub.topic)


__all__ = ["ReceiptView"]
