"""The Python API for scripts: ``send()`` a message now, ``notify()`` when a block or function ends.

Both read the same settings as the magics (``WxNotify``: the settings file, ``WXNOTIFY_TO``, and IPython
config when called inside IPython). Delivery problems never raise: they are reported (``send`` returns a
``Receipt``; ``notify`` prints one status line). A bad or missing destination is a mistake at the call site
and raises ``ValueError`` (``DestinationError`` / ``NoDestinationError``) before anything runs.

In distributed training (``RANK``, ``SLURM_PROCID``, ``OMPI_COMM_WORLD_RANK``, ``PMI_RANK``/``PMIX_RANK`` or
``LOCAL_RANK`` set and not ``0``) only failures are sent, at most one per host per job, saying how many ranks
there failed; ``all_ranks=True`` sends from every rank.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import sys
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, ClassVar, Literal, TextIO, TypeVar, overload

from .capture import uncaptured
from .i18n import tr
from .ranks import secondary_rank, with_rank
from .receipts import Receipt, report, skipped, wait_for
from .redact import redact
from .session import OptionError, OptionTypeError, current, targets, wait_seconds
from .watch import Watch, WatchOptions

F = TypeVar("F", bound=Callable[..., Any])
Targets = str | Sequence[str] | None


def _checked(check: Callable[[], Any]) -> Any:
    """Run an argument check; its OptionError becomes a plain ValueError (TypeError for a wrong type)."""
    try:
        return check()
    except OptionError as exc:
        raise (TypeError if isinstance(exc, TypeError) else ValueError)(str(exc)) from None


def _title(title: Any) -> str | None:
    if title is not None and not isinstance(title, str):
        raise OptionTypeError(tr("title must be text"))
    return title


def send(text: str, title: str | None = None, to: Targets = None, *, wait: float | None = None,
         all_ranks: bool = False) -> Receipt:
    """Send ``text`` now and wait up to ``wait`` seconds (default ``WxNotify.wait``) for the receipt.

    Never raises for delivery problems (see ``Receipt.ok`` / ``.status`` / ``.reason``); what is not
    delivered within ``wait`` keeps going in the background and is flushed at exit; Ctrl-C during the wait
    propagates (the message stays queued). Raises ``ValueError`` (``DestinationError``, ``NoDestinationError``)
    for a bad or missing destination or a bad ``wait``, ``TypeError`` for an argument of the wrong type.
    """
    to, wait, title = _checked(lambda: (targets(to), wait_seconds(wait), _title(title)))
    session = current()
    route = session.route(to)
    rank = secondary_rank()
    if rank is not None and not all_ranks:
        return skipped(tr("wxnotify: not sent from rank {rank} (all_ranks=True sends anyway)", rank=rank))
    ticket = session.submit(session.message(str(text), with_rank(title or "wxnotify", rank)), route)
    return session.wait(ticket, wait, reraise=True)


def default_title() -> str:
    """The script's file name (``train.py``), or ``wxnotify`` in a notebook or shell."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return script if script.endswith(".py") and "ipykernel" not in script else "wxnotify"


class Notifier:
    """What ``notify()`` returns: a context manager and a decorator (functions, async functions, generators)."""

    def __init__(self, options: WatchOptions, wait: float | None, all_ranks: bool) -> None:
        self.options = options
        self.wait = wait
        self.all_ranks = all_ranks
        self.status_stream: TextIO | None = None  # where the status line goes (default: sys.stdout)
        self._jobs: list[tuple[Watch | None, float]] = []

    def __repr__(self) -> str:
        return redact(f"Notifier({self.options!r})")

    def watch(self, title: str, capture: bool = True) -> tuple[Watch, float]:
        """A Watch for one job (not started) and the receipt wait; raises ValueError for bad destinations."""
        session = current()
        watch = session.job(self.options, title, all_ranks=self.all_ranks, capture=capture)
        return watch, session.settings.wait if self.wait is None else self.wait

    def start(self, title: str) -> tuple[Watch | None, float]:
        """Begin one job; raises ValueError for bad destinations, never for anything else."""
        watch, wait = self.watch(title)
        try:
            return watch.start(), wait
        except Exception as exc:  # never break the job
            watch.stop_capture()
            print(tr("wxnotify: not watching this job ({problem})", problem=redact(str(exc), strict=True)),
                  file=sys.stderr)
            return None, wait

    def end(self, job: tuple[Watch | None, float], error: BaseException | None, value: Any = None,
            traceback_text: str | None = None) -> None:
        """Finish one job: build, submit and report the notification; never raises."""
        watch, wait = job
        if watch is None:
            return
        try:
            ticket = watch.finish(error, value, traceback_text)
            if ticket is not None:
                with uncaptured():  # another thread's job must not take this receipt for its output
                    report(wait_for(ticket, wait, reraise=True), self.options.quiet, self.status_stream)
        except Exception as exc:
            watch.stop_capture()
            print(tr("wxnotify: notification not sent ({problem})", problem=redact(str(exc), strict=True)),
                  file=sys.stderr)

    def __enter__(self) -> Notifier:
        self._jobs.append(self.start(self.options.title or default_title()))
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> Literal[False]:
        self.end(self._jobs.pop(), error)
        return False  # the exception, if any, propagates

    def __call__(self, func: F) -> F:
        title = self.options.title or getattr(func, "__qualname__", "") or default_title()

        if inspect.isgeneratorfunction(func):
            return self._generator(func, title)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(func):
            return self._async_generator(func, title)  # type: ignore[return-value]
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

    # A generator's body runs while it is iterated, not when it is called: the job starts at the first next() and
    # ends when the generator is exhausted, fails, or is closed (a consumer that stops early: a success).

    def _generator(self, func: Callable[..., Generator[Any, Any, Any]], title: str) -> Callable[..., Any]:
        @functools.wraps(func)
        def run_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            __tracebackhide__ = True
            job = GeneratorJob(self, title)
            try:
                value = yield from func(*args, **kwargs)
            except GeneratorExit:
                job.closed()
                raise
            except BaseException as error:
                job.end(error)
                raise
            job.end(None, value)
            return value

        return run_generator

    def _async_generator(self, func: Callable[..., AsyncGenerator[Any, Any]], title: str) -> Callable[..., Any]:
        @functools.wraps(func)
        async def run_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            __tracebackhide__ = True
            job = GeneratorJob(self, title)
            inner = func(*args, **kwargs)
            try:
                try:
                    item = await inner.__anext__()
                    while True:
                        try:
                            sent = yield item
                        except GeneratorExit:
                            raise
                        except BaseException as thrown:  # athrow() on the wrapper goes to the generator
                            item = await inner.athrow(thrown)
                        else:
                            item = await inner.asend(sent)
                except StopAsyncIteration:
                    pass
            except GeneratorExit:
                await inner.aclose()
                job.closed()
                raise
            except BaseException as error:
                job.end(error)
                raise
            job.end()

        return run_async_generator


class GeneratorJob:
    """The job of one watched generator, ended once: by the generator, or at exit if it is still open then
    (abandoned unfinished: reported as finished, and no longer watched)."""

    live: ClassVar[set[GeneratorJob]] = set()

    def __init__(self, notifier: Notifier, title: str) -> None:
        self.notifier = notifier
        self.job = notifier.start(title)
        GeneratorJob.live.add(self)

    def end(self, error: BaseException | None = None, value: Any = None) -> None:
        if self in GeneratorJob.live:
            GeneratorJob.live.discard(self)
            self.notifier.end(self.job, error, value)

    def closed(self) -> None:
        """Closed before its end: a consumer that stopped early (a success). Collected while the interpreter
        shuts down, the job was ended at exit already, and no lock may be taken any more."""
        if not sys.is_finalizing():
            self.end()


@atexit.register
def _end_open_generators() -> None:
    for job in list(GeneratorJob.live):
        job.end()


@overload
def notify(title: F) -> F: ...


@overload
def notify(title: str | None = None, to: Targets = None, after: float | str | None = None,
           every: float | str | None = None, *, on: str | None = None, tail: int | None = None,
           no_output: bool = False, quiet: bool | None = None, wait: float | None = None,
           all_ranks: bool = False, start: bool = False, stall: float | str | None = None) -> Notifier: ...


def notify(title: Any = None, to: Targets = None, after: float | str | None = None,
           every: float | str | None = None, *, on: str | None = None, tail: int | None = None,
           no_output: bool = False, quiet: bool | None = None, wait: float | None = None,
           all_ranks: bool = False, start: bool = False, stall: float | str | None = None) -> Any:
    """Notify when a block or function ends, with the same message as ``%%wxnotify``.

    ``with notify("training"): ...`` or ``@notify(after="5m")`` (``@notify`` alone works too).
    Output is teed (it still shows) and its tail, the duration, and for failures the traceback are sent;
    the job's exception always propagates, and delivery never raises or waits longer than ``wait``.
    Unset options come from the settings (``WxNotify.after``, ``.on``, ``.tail``, ``.quiet``, ``.stall``).
    ``start=True`` also sends a "started" message when the job starts; ``stall="30m"`` sends one message when the
    job prints nothing for that long (again after output resumes).
    Raises ``ValueError`` for a bad duration, ``on``, ``tail`` or ``wait`` (``TypeError`` for a wrong type); bad
    destinations raise when the job starts. A generator function is watched over its iteration.
    """
    if callable(title):
        return notify()(title)
    session = current()
    options = _checked(lambda: session.options(title=_title(title), after=after, on=on, to=targets(to), tail=tail,
                                               every=every, no_output=no_output, quiet=quiet, start=start,
                                               stall=stall))
    return Notifier(options, _checked(lambda: wait_seconds(wait)), all_ranks)


__all__ = ["Notifier", "Receipt", "notify", "send"]
