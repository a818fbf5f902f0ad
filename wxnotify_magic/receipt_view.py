"""Receipts in IPython: shown at once and updated in place in a kernel, after a bounded wait in a terminal.

In a kernel a cell returns as soon as its notification is in the outbox. Its receipt is displayed with a display
id (``wxnotify: sending…``) and updated in place when delivery settles or is held. Cells that run back to back (a
Run All) share the first one's receipt line (``wxnotify: 200 notifications from cells [2]–[201]: sent …``), so a
burst costs one display, not one per cell; a failed cell always shows its own. An update published while no
cell runs carries the finished cell's parent message, which nbclient drops, so it is published again from the
next cell's ``pre_run_cell`` (JupyterLab applies both; the second is harmless). ``wait()`` (``%wxnotify wait``)
blocks until every receipt has settled, so a notebook can end with its final receipts.

A terminal has no display ids, and what a cell prints is the cell's output (``capture_output``, IPython's
history, ``%notebook``). There a cell never waits either: its receipt is printed once it has settled, the way a
shell reports finished background jobs, before the next prompt or above the prompt being shown (prompt_toolkit's
``pre_run_callables``; its ``patch_stdout`` keeps the prompt intact). A shell without that prompt (a script, a
test) prints them at ``%wxnotify wait``. Commands (``%wxnotify test``, ``%wxsend``) still wait at most
``WxNotify.wait`` and print their receipt as their own output.
"""

from __future__ import annotations

import html
import itertools
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .i18n import tr
from .receipts import Receipt, Ticket, report, summarize, wait_for
from .status import Status


@dataclass
class _Shown:
    """One receipt line being followed: its tickets (the cell's; a burst's cells join the first), its display id
    (kernel) and the text shown last."""

    ticket: Ticket
    display_id: str = ""  # empty: printed in a terminal as still sending; wait() prints the outcome
    quiet: bool = False
    text: str = ""
    others: list[Ticket] = field(default_factory=list)  # the tickets of the later cells of a burst
    cells: list[int] = field(default_factory=list)

    @property
    def tickets(self) -> list[Ticket]:
        return [self.ticket, *self.others]

    @property
    def finished(self) -> bool:
        return all(t.finished for t in self.tickets)

    def summary(self) -> Receipt:
        if not self.others:
            return self.ticket.summary()
        first, last = (self.cells[0], self.cells[-1]) if self.cells else (None, None)
        if first is not None and first != last:
            subject = tr("{n} notifications from cells {cells}", n=len(self.tickets), cells=f"[{first}]–[{last}]")
        elif first is not None:
            subject = tr("{n} notifications from cell {cell}", n=len(self.tickets), cell=f"[{first}]")
        else:
            subject = tr("{n} notifications", n=len(self.tickets))
        results = [r for t in self.tickets for r in t.current()]
        return summarize(results, time.monotonic() - self.ticket.started, subject)


class ReceiptView:
    """The receipts of one IPython shell; the cell hooks call ``cell_started``/``cell_ended`` around each cell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.kernel = hasattr(shell, "kernel")  # a terminal prints a display update as a stray line: never there
        self._opened = False  # the display hook is registered
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._in_cell = False
        self._stale: dict[str, dict[str, str]] = {}  # display id -> last update published while no cell ran
        self._open: dict[int, _Shown] = {}
        self._ids = itertools.count(1)
        self._prefix = f"wxnotify-{uuid.uuid4().hex[:12]}-"  # display ids unique across kernels and restarts
        self._last_activity = self._burst_started = 0.0
        self._last_end = 0.0
        self._burst: _Shown | None = None  # the receipt line that back-to-back cells join
        self._clear_waiting = False  # kernel: the cell's last display call was clear_output(wait=True)
        self._late: list[_Shown] = []  # terminal: settled receipts not printed yet
        self._before_prompt = False  # terminal: printing them before the next prompt is arranged

    # -- around each cell (main thread) ---------------------------------------------------------------------

    def open(self) -> None:
        """In a kernel, follow the cell's ``clear_output(wait=True)`` calls (the display publisher's documented
        hook, which sees every display message of the thread it was registered on: call this from the thread
        running cells). Once; later calls return at once."""
        if self._opened:
            return
        self._opened = True
        register = getattr(getattr(self.shell, "display_pub", None), "register_hook", None)
        if self.kernel and register is not None:
            register(self._seen)

    def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        unregister = getattr(getattr(self.shell, "display_pub", None), "unregister_hook", None)
        if self.kernel and unregister is not None:
            unregister(self._seen)

    def _seen(self, msg: Any) -> Any:
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        if kind == "clear_output":
            self._clear_waiting = bool(msg.get("content", {}).get("wait"))
        elif kind == "display_data":
            self._clear_waiting = False
        return msg

    def quiet_until(self) -> float:
        """When the kernel will be quiet (``time.monotonic()``): the sender holds off until then, so a Run All
        of many cells is not slowed by sending, and what it notifies goes out merged when it ends (or each
        ``BURST`` seconds while it goes on)."""
        return min(self._last_activity + QUIET, self._burst_started + BURST)

    def _active(self) -> None:
        now = time.monotonic()
        if now - self._last_activity > QUIET or now - self._burst_started > BURST:
            self._burst_started = now
        self._last_activity = now

    def cell_started(self) -> None:
        """Publish again, under this cell's parent, what was updated while the kernel was idle."""
        self._active()
        with self._lock:
            if time.monotonic() - self._last_end > QUIET:  # not back to back: a new receipt line
                self._burst = None
            self._in_cell = True
            self._clear_waiting = False
            stale, self._stale = self._stale, {}
            for display_id, bundle in stale.items():
                _publish(self.shell, bundle, display_id, update=True)

    def cell_ended(self) -> None:
        self._active()
        with self._lock:
            self._in_cell = False
            self._last_end = time.monotonic()
            arrange = not self.kernel and bool(self._open or self._late) and not self._before_prompt
        app = _prompt_app(self.shell) if arrange else None
        if app is not None:
            self._before_prompt = True
            app.pre_run_callables.append(self._print_late)

    # -- showing ----------------------------------------------------------------------------------------------

    def show(self, ticket: Ticket, quiet: bool, wait: float, cell: int | None = None, failed: bool = False,
             later: bool = False) -> None:
        """In a running kernel cell: display now and update later (or join the receipt line of the cell before,
        when cells run back to back). A terminal cell's (``later``): print it once settled, outside any cell.
        Elsewhere: wait at most ``wait``, print."""
        if self.kernel and self._in_cell and threading.current_thread() is threading.main_thread():
            if self._clear_waiting:  # a display now would be the output that clear waits for: it would wipe what
                return  # the cell shows last (a live plot's final figure). The cell keeps its own outputs.
            burst = self._burst
            if burst is not None and not failed and burst.quiet == quiet and not burst.finished:
                self._join(burst, ticket, cell)
                return
            shown = self._display(ticket, quiet, cell)
            self._burst = None if failed else shown
            return
        if later and not self.kernel:
            self._follow(_Shown(ticket, quiet=quiet), late=True)
            return
        report(wait_for(ticket, wait), quiet)
        if not ticket.finished:
            self._follow(_Shown(ticket, quiet=quiet), late=False)

    def _follow(self, shown: _Shown, late: bool) -> None:
        """Keep a terminal receipt until it settles; ``late``: then print it outside any cell."""
        with self._lock:
            if len(self._open) >= KEEP:  # outcomes nobody waited for: keep the latest only
                for key in [k for k, s in self._open.items() if s.ticket.finished][: KEEP // 2]:
                    del self._open[key]
            self._open[id(shown.ticket)] = shown
        shown.ticket.on_done(lambda t: self._settled_late(shown) if late else self._settled(t))

    def _settled_late(self, shown: _Shown) -> None:
        with self._lock:
            self._open.pop(id(shown.ticket), None)
            self._late = [*self._late[-KEEP:], shown]
            self._changed.notify_all()
            idle = not self._in_cell
        app = _prompt_app(self.shell)
        if idle and app is not None and getattr(app, "is_running", False):
            self._print_late()  # the prompt is showing: above it

    def _print_late(self) -> None:
        """Print the settled receipts of terminal cells (before the prompt, or above it)."""
        with self._lock:
            late, self._late = self._late, []
            self._before_prompt = False
        for shown in late:
            try:
                report(shown.ticket.summary(), shown.quiet)
            except Exception:  # a receipt that cannot be printed never breaks the prompt
                continue

    def _join(self, burst: _Shown, ticket: Ticket, cell: int | None) -> None:
        with self._lock:
            burst.others.append(ticket)
            if cell is not None:
                burst.cells.append(cell)
        ticket.on_change(lambda t: self._update(burst))
        ticket.on_done(lambda t: self._update(burst))

    def _display(self, ticket: Ticket, quiet: bool, cell: int | None = None) -> _Shown:
        shown = _Shown(ticket, f"{self._prefix}{next(self._ids)}", quiet, cells=[cell] if cell is not None else [])
        shown.text = "" if quiet else tr("wxnotify: sending…")
        with self._lock:
            self._open[id(ticket)] = shown
            _publish(self.shell, _bundle(shown.text, "pending"), shown.display_id, update=False)
        ticket.on_change(lambda t: self._update(shown))
        ticket.on_done(lambda t: self._update(shown))
        if any(r.status != Status.PENDING or r.reason for r in ticket.current()):
            self._update(shown)  # it changed before the callbacks were in place
        return shown

    def _update(self, shown: _Shown) -> None:
        """Show the receipt as it stands now (any thread); forget it once it has settled."""
        with self._lock:  # read under the lock: a late call never shows an older state than an earlier one
            receipt = shown.summary()
            text = _text(receipt, shown.quiet)
            if text != shown.text:
                shown.text = text
                bundle = _bundle(text, receipt.status)
                _publish(self.shell, bundle, shown.display_id, update=True)
                if not self._in_cell:
                    self._stale[shown.display_id] = bundle
            if shown.finished:
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
                           if not (s.finished and not s.display_id)
                           and not _held(s, deadline)]
                remaining = deadline - time.monotonic()
                if not waiting or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
            for shown in watched:
                if shown.finished:
                    self._open.pop(id(shown.ticket), None)
            settled_late, self._late = self._late, []
        watched += [s for s in settled_late if not any(s is w for w in watched)]
        if not watched:
            return [tr("wxnotify: every notification has settled")]
        late: list[Receipt | str] = [s.summary() for s in watched if not s.display_id and s.finished and
                                     not (s.quiet and s.summary().status != "failed")]
        return [*late, _summary(watched, timeout)]


QUIET = 0.05  # seconds without a cell starting or ending: the kernel is quiet, sending may start
BURST = 1.0  # while cells keep running back to back, the sender still gets its turn this often
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


_STYLES = {  # JupyterLab's theme variables (light and dark), with fallbacks for the classic notebook and VS Code
    "failed": "color:var(--jp-error-color1,#d32f2f);font-weight:600;border-left:3px solid currentColor",
    "delivered": "color:var(--jp-ui-font-color2,#757575);border-left:3px solid transparent",
    "pending": "color:var(--jp-ui-font-color2,#757575);font-style:italic;border-left:3px solid transparent",
}


_FONT = "padding:1px 0 1px 3px;font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,13px)"


def _bundle(text: str, status: str) -> dict[str, str]:
    """The receipt as plain text (terminals, saved notebooks) and as HTML for a notebook's page: a failure in the
    theme's error colour and bold with a bar, the rest quiet and grey; escaped, so no redacted URL becomes a link
    (front ends turn URLs in plain text into links)."""
    if not text:
        return {"text/plain": text}
    style = f"{_STYLES.get(status, _STYLES['pending'])};{_FONT}"
    return {"text/plain": text, "text/html": f'<div class="wxnotify-receipt wxnotify-{html.escape(status)}" '
                                             f'style="{style}">{html.escape(text)}</div>'}


def _held_past(ticket: Ticket, deadline: float) -> bool:
    """True when every destination still open waits (quota or backoff) until after ``deadline`` (monotonic)."""
    if ticket.finished:
        return False
    wall = time.time() + (deadline - time.monotonic())
    open_results = [r for r in ticket.current() if not r.settled]
    return bool(open_results) and all(r.until > wall for r in open_results)


def _held(shown: _Shown, deadline: float) -> bool:
    """True when every notification of the line still open is held past ``deadline``."""
    still_open = [t for t in shown.tickets if not t.finished]
    return bool(still_open) and all(_held_past(t, deadline) for t in still_open)


def _summary(watched: list[_Shown], timeout: float) -> str:
    tickets = [t for s in watched for t in s.tickets]
    settled = [t for t in tickets if t.finished]
    held = [t for t in tickets if _held_past(t, time.monotonic())]
    sending = len(tickets) - len(settled) - len(held)
    parts = [tr("wxnotify: {n} notification(s) settled", n=len(settled))]
    if held:
        why = "; ".join(dict.fromkeys(r.reason for t in held for r in t.current() if not r.settled and r.reason))
        parts.append(tr("{n} held ({why})", n=len(held), why=why) if why else tr("{n} held", n=len(held)))
    if sending:
        parts.append(tr("{n} still sending after {seconds:g} s", n=sending, seconds=timeout))
    return "; ".join(parts)


def _prompt_app(shell: Any) -> Any:
    """The prompt_toolkit application of a terminal shell's prompt, or None (a simple prompt, a script)."""
    return getattr(getattr(shell, "pt_app", None), "app", None)


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
