"""The Python API for scripts: ``send()`` a message now, ``notify()`` when a block or function ends.

Both read the same settings as the magics (``WxNotify``: the settings file, ``WXNOTIFY_TO``, and IPython
config when called inside IPython). Delivery problems never raise: they are reported (``send`` returns a
``Receipt``; ``notify`` prints one status line). A bad or missing destination is a mistake at the call site
and raises ``ValueError`` (``DestinationError`` / ``NoDestinationError``) before anything runs.

In distributed training (env ``RANK`` / ``LOCAL_RANK`` set and not ``0``) only failures are sent, so one
crashed rank is still reported while the other ranks stay quiet; ``all_ranks=True`` sends from every rank.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal, TextIO, TypeVar, overload

from . import delivery
from .delivery import Receipt, wait_for
from .durations import parse_duration
from .message import Notification
from .settings import WxNotify, resolve_destinations
from .watch import Watch, WatchOptions, host_name

F = TypeVar("F", bound=Callable[..., Any])
Targets = str | Sequence[str] | None
FINAL = ("delivered", "failed", "dropped")


def secondary_rank() -> str | None:
    """The rank of this process when it is not rank 0 (env ``RANK`` or ``LOCAL_RANK``), else None."""
    for name in ("RANK", "LOCAL_RANK"):
        value = os.environ.get(name, "").strip()
        if value and value != "0":
            return value
    return None


def with_rank(title: str, rank: str | None) -> str:
    return f"{title} [rank {rank}]" if rank is not None else title


def current_settings() -> WxNotify:
    """The loaded extension's settings inside IPython, else a fresh ``WxNotify`` (file and env)."""
    ipython = sys.modules.get("IPython")
    ip = ipython.get_ipython() if ipython is not None else None
    if ip is None:
        return WxNotify()
    for configurable in getattr(ip, "configurables", []):
        if isinstance(configurable, WxNotify):
            return configurable
    return WxNotify(parent=ip)


def _targets(to: Targets) -> list[str]:
    return [to] if isinstance(to, str) else list(to or [])


def _submitter(settings: WxNotify, to: Targets, failures_only: bool) -> Callable[[Notification, str], Any]:
    """Resolve the destinations now (raising ValueError) and return the ``submit`` a Watch calls."""
    destinations, fallbacks = resolve_destinations(_targets(to), settings)

    def submit(note: Notification, kind: str) -> delivery.Ticket | None:
        if failures_only and note.status != "failed":
            return None
        sender = delivery.get_sender(lambda: dict(settings.quotas))
        return sender.submit(note, destinations, kind, fallbacks)

    return submit


def send(text: str, title: str | None = None, to: Targets = None, *, wait: float | None = None,
         all_ranks: bool = False) -> Receipt:
    """Send ``text`` now and wait up to ``wait`` seconds (default ``WxNotify.wait``) for the receipt.

    Never raises for delivery problems (see ``Receipt.ok`` / ``.status`` / ``.reason``); what is not
    delivered within ``wait`` keeps going in the background and is flushed at exit. Raises ``ValueError``
    (``DestinationError``, ``NoDestinationError``) for a bad or missing destination.
    """
    settings = current_settings()
    submit = _submitter(settings, to, failures_only=False)
    rank = secondary_rank()
    if rank is not None and not all_ranks:
        return Receipt(False, "skipped", f"wxnotify: not sent from rank {rank} (all_ranks=True sends anyway)")
    note = Notification(status="message", title=with_rank(title or "wxnotify", rank), text=str(text),
                        started=time.time(), host=host_name())
    return wait_for(submit(note, "final"), settings.wait if wait is None else wait)


def default_title() -> str:
    """The script's file name (``train.py``), or ``wxnotify`` in a notebook or shell."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return script if script.endswith(".py") and "ipykernel" not in script else "wxnotify"


class Notifier:
    """What ``notify()`` returns: a context manager and a decorator (sync or async functions)."""

    def __init__(self, options: WatchOptions, wait: float | None, all_ranks: bool) -> None:
        self.options = options
        self.wait = wait
        self.all_ranks = all_ranks
        self.status_stream: TextIO | None = None  # where the status line goes (default: sys.stdout)
        self._jobs: list[tuple[Watch | None, float]] = []

    def watch(self, title: str, capture: bool = True) -> tuple[Watch, float]:
        """A Watch for one job (not started) and the receipt wait; raises ValueError for bad destinations."""
        settings = current_settings()
        rank = secondary_rank()
        quiet_rank = rank is not None and not self.all_ranks
        submit = _submitter(settings, self.options.to, failures_only=quiet_rank)
        options = replace(self.options, title=with_rank(self.options.title or title, rank),
                          every=None if quiet_rank else self.options.every)  # no pings from the other ranks
        return Watch(options, submit, {"host": host_name()}, capture), settings.wait if self.wait is None else self.wait

    def start(self, title: str) -> tuple[Watch | None, float]:
        """Begin one job; raises ValueError for bad destinations, never for anything else."""
        watch, wait = self.watch(title)
        try:
            return watch.start(), wait
        except Exception as exc:  # never break the job
            watch.stop_capture()
            print(f"wxnotify: not watching this job ({type(exc).__name__}: {exc})", file=sys.stderr)
            return None, wait

    def end(self, job: tuple[Watch | None, float], error: BaseException | None, value: Any = None,
            traceback_text: str | None = None) -> None:
        """Finish one job: build, submit and report the notification; never raises."""
        watch, wait = job
        if watch is None:
            return
        try:
            ticket = watch.finish(error, value, traceback_text)
            if ticket is None:
                return
            delivery.report(wait_for(ticket, wait), self.options.quiet, self.status_stream)
        except Exception as exc:
            watch.stop_capture()
            print(f"wxnotify: notification not sent ({type(exc).__name__}: {exc})", file=sys.stderr)

    def __enter__(self) -> Notifier:
        self._jobs.append(self.start(self.options.title or default_title()))
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> Literal[False]:
        self.end(self._jobs.pop(), error)
        return False  # the exception, if any, propagates

    def __call__(self, func: F) -> F:
        title = self.options.title or getattr(func, "__qualname__", "") or default_title()

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                __tracebackhide__ = True
                job = self.start(title)
                try:
                    value = await func(*args, **kwargs)
                except BaseException as error:
                    self.end(job, error)
                    raise
                self.end(job, None, value)
                return value

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            job = self.start(title)
            try:
                value = func(*args, **kwargs)
            except BaseException as error:
                self.end(job, error)
                raise
            self.end(job, None, value)
            return value

        return run  # type: ignore[return-value]


@overload
def notify(title: F) -> F: ...


@overload
def notify(title: str | None = None, to: Targets = None, after: float | str | None = None,
           every: float | str | None = None, *, on: str | None = None, tail: int | None = None,
           no_output: bool = False, quiet: bool | None = None, wait: float | None = None,
           all_ranks: bool = False) -> Notifier: ...


def notify(title: Any = None, to: Targets = None, after: float | str | None = None,
           every: float | str | None = None, *, on: str | None = None, tail: int | None = None,
           no_output: bool = False, quiet: bool | None = None, wait: float | None = None,
           all_ranks: bool = False) -> Any:
    """Notify when a block or function ends, with the same message as ``%%wxnotify``.

    ``with notify("training"): ...`` or ``@notify(after="5m")`` (``@notify`` alone works too).
    Output is teed (it still shows) and its tail, the duration, and for failures the traceback are sent;
    the job's exception always propagates, and delivery never raises or waits longer than ``wait``.
    Unset options come from the settings (``WxNotify.after``, ``.on``, ``.tail``, ``.quiet``).
    Raises ``ValueError`` for a bad duration or ``on``; bad destinations raise when the job starts.
    """
    if callable(title):
        return notify()(title)
    if on not in (None, "always", "success", "failure"):
        raise ValueError(f"on must be 'always', 'success' or 'failure', not {on!r}")
    settings = current_settings()
    every_s = parse_duration(every) if every is not None else None
    if every_s is not None and every_s <= 0:
        raise ValueError("every must be a positive duration")
    options = WatchOptions(
        title=title or "", after=parse_duration(after) if after is not None else float(settings.after),
        on=on or settings.on, to=_targets(to), tail=settings.tail if tail is None else max(0, tail),
        every=every_s, no_output=no_output, quiet=settings.quiet if quiet is None else quiet)
    return Notifier(options, wait, all_ranks)


__all__ = ["Notifier", "Receipt", "notify", "send"]
