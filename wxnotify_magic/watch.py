"""The one job watcher: times a job, tees its output, builds the Notification and hands it to delivery.

``%%wxnotify``, auto mode, ``notify()`` and ``wxnotify run`` all use it.
"""

from __future__ import annotations

import contextlib
import os
import reprlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .capture import OutputCapture, Tail
from .durations import human_duration
from .i18n import language, tr
from .message import Notification, cut_end

VALUE_LIMIT = 2000


@dataclass
class WatchOptions:
    """What to report and when; built from magic options over the settings."""

    title: str = ""
    after: float = 0.0
    on: str = "always"  # always | success | failure
    to: list[str] = field(default_factory=list)
    tail: int = 20
    every: float | None = None
    no_output: bool = False
    quiet: bool = False
    figure: bool = False  # also send the last image the job displayed
    start: bool = False  # also send a "started" message when the job starts
    stall: float | None = None  # one message when the job prints nothing for this long

    def __repr__(self) -> str:  # ``to`` may hold tokens: show them redacted
        from .redact import redact_url

        shown = {**self.__dict__, "to": [redact_url(t) for t in self.to]}
        return f"WatchOptions({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def should_notify(status: str, duration: float, options: WatchOptions) -> bool:
    """Failures always count (unless ``--on success``); success and interrupts only past ``after``."""
    if options.on == "success" and status != "success":
        return False
    if options.on == "failure" and status not in ("failed",):
        return False
    if status == "failed":
        return True
    return duration >= options.after


def skip_reason(status: str, duration: float, options: WatchOptions) -> str:
    """Why nothing is sent for this outcome, in one calm line ("" when it is sent): a marked cell that sends
    nothing says so, whether ``--on`` or the shortest run to notify (``--after``, ``WxNotify.after``) held it back."""
    if should_notify(status, duration, options):
        return ""
    if options.on == "failure" and status != "failed":
        return tr("wxnotify: not sent: it did not fail, and it notifies on failure only (--on failure)")
    if options.on == "success" and status != "success":
        return tr("wxnotify: not sent: it did not succeed, and it notifies on success only (--on success)")
    return tr("wxnotify: not sent: it ran {took}, less than the shortest run to notify, {after} "
              "(--after 0 notifies every run)", took=human_duration(duration), after=human_duration(options.after))


def is_interrupt(error: BaseException | None) -> bool:
    """Ctrl-C, or a kernel interrupt during ``await`` (ipykernel cancels the cell's task)."""
    asyncio = sys.modules.get("asyncio")  # a CancelledError can only come from a loaded asyncio
    return isinstance(error, KeyboardInterrupt) or (asyncio is not None and isinstance(error, asyncio.CancelledError))


def status_of(error: BaseException | None) -> str:
    """success, interrupted or failed; ``SystemExit`` with code 0 or None is a success, as for the shell."""
    if error is None or (isinstance(error, SystemExit) and error.code in (None, 0)):
        return "success"
    return "interrupted" if is_interrupt(error) else "failed"


def format_traceback(error: BaseException, hide: Callable[[str], bool] | None = None,
                     rename: Callable[[str], str] | None = None) -> str:
    """The traceback as plain text, without frames of IPython or of this package; never raises."""
    hide = hide or _internal_file
    try:
        te = traceback.TracebackException(type(error), error, error.__traceback__, capture_locals=False)
        for exc in _chain(te):
            kept = [f for f in exc.stack if not hide(f.filename)]
            if rename:
                for frame in kept:
                    frame.filename = rename(frame.filename)
                if getattr(exc, "filename", None):  # only a SyntaxError's has one
                    exc.filename = rename(exc.filename)  # where a SyntaxError points: the cell, not a temp file
            exc.stack = traceback.StackSummary.from_list(kept)
        return "".join(te.format())
    except Exception:  # an exception that defeats the traceback module still gets its name reported
        return f"{_type_name(error)}: <the traceback could not be formatted>"


def _type_name(value: object) -> str:
    try:
        return str(type(value).__qualname__)
    except Exception:
        return "object"


def _chain(te: traceback.TracebackException) -> list[traceback.TracebackException]:
    """``te``, its causes and contexts, and the members of exception groups, each once."""
    seen: list[traceback.TracebackException] = []
    todo = [te]
    while todo:
        exc = todo.pop()
        if any(exc is s for s in seen):
            continue
        seen.append(exc)
        todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]
        todo += list(getattr(exc, "exceptions", None) or [])
    return seen


_HERE = os.path.dirname(os.path.abspath(__file__))


def _internal_file(filename: str) -> bool:
    if filename.startswith(_HERE + os.sep):
        return True
    parts = filename.replace("\\", "/").split("/")
    return "IPython" in parts and "core" in parts


def safe_repr(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A shortened repr that never raises, and stays cheap for huge built-in containers and strings."""
    if value is None:
        return ""
    try:
        return cut_end(_bounded_repr(limit).repr(value), limit)
    except Exception as exc:  # a broken __repr__ must not break the report
        return f"<{_type_name(value)}: repr failed with {_type_name(exc)}>"


def _bounded_repr(limit: int) -> reprlib.Repr:
    """``repr`` for anything a message can show; containers beyond that are cut (``...``) before being built."""
    bounded = reprlib.Repr()
    bounded.maxlevel = 10
    bounded.maxstring = bounded.maxother = bounded.maxlong = limit + 2
    bounded.maxtuple = bounded.maxlist = bounded.maxarray = bounded.maxdict = limit // 4
    bounded.maxset = bounded.maxfrozenset = bounded.maxdeque = limit // 4
    return bounded


def host_name() -> str:
    return socket.gethostname()


class Watch:
    """Watches one job from ``start()`` to ``finish()``; sends through ``submit``."""

    def __init__(self, options: WatchOptions, submit: Callable[[Notification, str], Any],
                 context: dict[str, Any] | None = None, capture: bool = True, tail: Any = None,
                 images: Any = None) -> None:
        """``tail`` may be given (anything with ``text(n)`` and ``last_line()``); else the watch tees.
        ``images`` (``start()``, and ``stop()`` returning (mime type, base64) or None) finds the figure."""
        self.options = options
        self.images = images
        self.figure: tuple[str, str] | None = None
        self.submit = submit
        self.context = context or {}
        self.tail = tail if tail is not None else Tail(lines=max(options.tail, 1))
        self.capture = OutputCapture(self.tail) if capture and tail is None else None
        self.started = 0.0
        self._t0 = 0.0
        self._pid = os.getpid()
        self.skipped = ""  # why finish() sent nothing, for the cell's one line
        self._stop_pings = threading.Event()
        self._pinger: threading.Thread | None = None
        # -- the watchdog and the per-job monitor (monitor.py) ------------------------------------
        self.route: dict[str, Any] | None = None  # set by the session (watchdog.route_record) to arm the watchdog
        self.monitor: Any = None
        self.title_of: Callable[[], str] | None = None  # the default title, built when a message needs it
        self.ended: Callable[[], bool] | None = None  # says the job ended unannounced (a cell without post_run_cell)

    def start(self) -> Watch:
        from . import monitor  # arm the watchdog, watch for stalls, sample memory

        self._pid = os.getpid()
        self.started = time.time()
        self.monitor = monitor.start(self)  # before the clock starts: our setup is not the job's time
        self._t0 = time.perf_counter()
        if self.capture:
            self.capture.start()
        if self.images is not None:
            self.images.start()
        if self.options.start:
            with contextlib.suppress(Exception):  # a message that could not be queued never stops the job
                self.submit(self.notification("started"), "start")
        if self.options.every:
            self._pinger = threading.Thread(target=self._ping_loop, name="wxnotify-ping", daemon=True)
            self._pinger.start()
        return self

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def stop_capture(self) -> None:
        if self.capture:
            self.capture.stop()
        if self.images is not None:
            images, self.images = self.images, None
            self.figure = images.stop()
        if self.monitor is not None:  # disarm the watchdog, take the final peaks
            self.monitor.stop()

    def finish(self, error: BaseException | None = None, value: Any = None,
               traceback_text: str | None = None, status: str | None = None, printed_error: str = "") -> Any:
        """Stop watching; when the options say so, build and submit the notification and return the ticket.

        ``status`` overrides the one read from ``error`` (a kernel's verdict on a cell); ``printed_error`` is
        what the shell printed for the error itself, left out of the output tail. A process forked during the
        job never sends: the job is the parent's to report.
        """
        self.stop_capture()
        self._stop_pings.set()
        if os.getpid() != self._pid:
            return None
        status = status or status_of(error)
        self.skipped = skip_reason(status, self.elapsed, self.options)
        if self.skipped:
            return None
        tb = ""
        if error is not None and status == "failed":
            tb = traceback_text if traceback_text is not None else format_traceback(error)
        elif status == "interrupted":
            tb = "KeyboardInterrupt"
        note = self.notification(status, tb, value, printed_error)
        return self.submit(note, "final")

    def notification(self, status: str, tb: str = "", value: Any = None, printed_error: str = "") -> Notification:
        ctx = self.context
        n = Notification(
            status=status, title=self.options.title or ctx.get("title", "") or self._default_title() or "wxnotify",
            started=self.started, ended=self.started + self.elapsed, host=ctx.get("host") or host_name(),
            notebook=ctx.get("notebook", ""), execution_count=ctx.get("execution_count"),
            output=self.tail.text(self.options.tail, drop_end=printed_error), value=safe_repr(value), traceback=tb,
            lang=language(), peak_memory=self.monitor.peak_memory if self.monitor else None,
            gpu_peaks=self.monitor.gpu_peaks if self.monitor else {},
        )
        if self.figure is not None and status not in ("running", "stalled"):
            n = replace(n, figure_type=self.figure[0], figure=self.figure[1])
        if self.options.no_output:
            return n.without_output()
        return replace(n, extra=self._curves(status)) if status != "started" else n

    def _curves(self, status: str) -> dict[str, Any]:
        """The training curve in the output (up to three metrics' trends) and, while running, tqdm's rate and
        ETA; nothing when the output has no metric."""
        read = getattr(self.tail, "metrics", None)
        try:
            found = read() if callable(read) else None
        except Exception:  # a curve is a nicety: never lose the message over it
            return {}
        if found is None:
            return {}
        extra: dict[str, Any] = {"trend": found.trends()} if found.trends() else {}
        if status in ("running", "stalled") and found.progress:
            extra["progress"] = found.progress
        return extra

    def _default_title(self) -> str:
        return self.title_of() if self.title_of is not None else ""

    def _ping_loop(self) -> None:
        every = self.options.every or 0
        while not self._stop_pings.wait(every):
            ping = self.notification("running")
            ping = replace(ping, ended=time.time(), output=self.tail.last_line() if not self.options.no_output else "",
                           value="")
            try:
                self.submit(ping, "ping")
            except Exception:
                continue
