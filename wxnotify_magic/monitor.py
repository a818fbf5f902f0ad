"""The per-job monitor: every second or so it hands the output tail to the watchdog, checks for a stall
(``--stall``) and samples memory and GPUs. One sampler thread per process serves every running job's monitor
(started with the first job, idle in between), so a watched cell starts no thread.

A quick cell touches no ``/proc`` file: the peak memory meter is started (``clear_refs``) and read
(``/proc/self/status``) by the sampler thread, from the first sample on, and takes in what came before it; a job
that ends before it reports the resident peak from ``getrusage`` (a system call), read only when a message is built.

It costs nothing per ``print``: between samples it only compares the tail's activity mark
(``Tail.activity()`` / ``HistoryTail.activity()``), and reads the tail's text only when it changed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import replace
from typing import Any

from . import resources, watchdog
from .capture import kernel_messages
from .durations import human_duration
from .i18n import language, tr
from .message import cut_start

TICK = 1.0  # seconds between samples (shorter when --stall is shorter than a few ticks)
FIRST = 0.25  # the first sample comes sooner: a job that dies early still leaves its first output
TAIL_EVERY = 3.0  # the tail (the costly read, ~2 ms for a big output) goes to the watchdog at most this often
TAIL_CHARS = 4000  # the tail handed to the watchdog, at most
LINGER = 10.0  # after a job, the sampler keeps its first-sample pace this long (back-to-back cells wake nobody)


def tick_for(stall: float | None) -> float:
    """The sampling interval: a second, or a quarter of a short stall threshold (never under 50 ms)."""
    return TICK if not stall else min(TICK, max(0.05, stall / 4))


def stall_text(silence: float, last_line: str) -> str:
    """``no output for 30m 00s; last line: epoch 12 loss 0.31`` (the card says how long it has run)."""
    if last_line:
        return tr("no output for {silence}; last line: {line}", silence=human_duration(silence), line=last_line)
    return tr("no output for {silence}", silence=human_duration(silence))


class Monitor:
    """Watches one running job for its ``Watch``: arms the watchdog, samples, sends the stall alarm."""

    def __init__(self, watch: Any) -> None:
        self.watch = watch
        self.memory = resources.PeakMeter()
        self.gpu = resources.GpuMeter()
        self.child: int | None = None  # a child process to measure instead of this one (wxnotify run)
        self.job_id: str | None = None
        self.cpu_seconds = 0.0  # CPU time spent sampling this job (measured in the sampler thread)
        self.stalls = 0
        self.tick = tick_for(getattr(watch.options, "stall", None))
        self.due = 0.0  # when the sampler looks next
        self.stopped = False
        self._mark: Any = None
        self._last_output = 0.0
        self._stall_sent = False
        self._vm_peak = 0
        self._child_rss = 0
        self._tail_due = 0.0  # when the tail may next be handed over
        self._tail_dirty = False  # output came since the last hand-over
        self._fed_usage: dict[str, Any] = {}
        self._arming = threading.Lock()  # the sampler arms, the job's thread stops: never both at once
        self._metered = False  # the peak meter was started (by the sampler, at the first sample)

    # -- life -------------------------------------------------------------------------------------------

    def start(self) -> Monitor:
        """Start the peak memory meter and sampling. The watchdog is armed at the first sample (FIRST seconds in),
        from the sampler thread: the many quick cells of a Run All never arm it (a death in a cell's first
        quarter second goes unreported)."""
        self._last_output = time.monotonic()
        self._mark = self._activity()
        self.due = self._last_output + min(self.tick, FIRST)
        _sampler.add(self)
        return self

    def _arm(self) -> None:
        route = getattr(self.watch, "route", None)
        with self._arming:
            if not self._metered and not self.stopped:
                self.memory.start()
                self._metered = True
            if route and self.job_id is None and not self.stopped:
                self.job_id = watchdog.arm(self.job(route))

    def follow(self, pid: int) -> None:
        """Measure the child process ``pid`` (``wxnotify run``'s command) rather than this process."""
        self.child = pid

    def stop(self) -> None:
        """The job ended: disarm at once, stop sampling, take the final peaks. Idempotent."""
        with self._arming:
            if self.stopped:
                return
            self.stopped = True
        _sampler.remove(self)
        if self.job_id is not None:
            watchdog.disarm(self.job_id)
        if self._metered:
            self.memory.stop()

    def child_ended(self, maxrss: int) -> None:
        """The followed child's ``ru_maxrss`` from ``wait4``. It also counts the copy of this process the child
        was before ``exec``, so it is taken only when above our own peak; else the sampled VmHWM stands."""
        ours = resources.proc_memory().get("VmHWM") or resources.rusage_peak() or 0
        if maxrss > ours:
            self._child_rss = max(self._child_rss, maxrss)

    @property
    def peak_memory(self) -> int | None:
        peak: int | None
        if self.child is not None:
            peak = self._child_rss
        else:
            peak = self.memory.sample() if self._metered else resources.rusage_peak()
        return peak or None

    @property
    def gpu_peaks(self) -> dict[str, int]:
        return dict(self.gpu.peaks)

    def job(self, route: dict[str, Any]) -> dict[str, Any]:
        """What the watchdog needs to report this job's death by itself (see ``watchdog.death_notification``)."""
        from .paths import state_dir

        note = {**self.watch.notification("died").to_dict(), "output": ""}
        return {"note": note, "route": route, "lang": language(), "home": str(state_dir()),
                "api_base": os.environ.get("WXNOTIFY_API_BASE", ""), "no_output": self.watch.options.no_output,
                "tail": "", "usage": {}}

    # -- sampling (in the sampler thread) -------------------------------------------------------------------

    def sample(self) -> None:
        """One look: output activity, memory, GPUs; feed the watchdog; the stall alarm when it is due."""
        ended = getattr(self.watch, "ended", None)
        if ended is not None and ended():  # the job ended unannounced: stop watching it, disarm the watchdog
            self.stop()
            return
        if self.job_id is None or not self._metered:
            self._arm()
        now = time.monotonic()
        mark = self._activity()
        changed = mark != self._mark
        if changed:
            self._mark, self._last_output, self._stall_sent = mark, now, False
        self._tail_dirty = self._tail_dirty or changed
        usage = self._usage()
        if self.job_id is not None:
            update: dict[str, Any] = {}
            if usage != self._fed_usage:
                update["usage"] = self._fed_usage = usage
            if self._tail_dirty and now >= self._tail_due and not self.watch.options.no_output:
                update["tail"] = cut_start(self.watch.tail.text(self.watch.options.tail), TAIL_CHARS)
                self._tail_dirty, self._tail_due = False, now + TAIL_EVERY
            if update:
                watchdog.feed(self.job_id, **update)
        stall = getattr(self.watch.options, "stall", None)
        if stall and not self._stall_sent and now - self._last_output >= stall and not self.stopped:
            self._stall_sent = True
            self._send_stall(now - self._last_output)

    def _activity(self) -> Any:
        """Changes with any output, and in a kernel with any message it sends: a tqdm.auto widget bar or a
        display updated in place is progress too."""
        mark = getattr(self.watch.tail, "activity", None)
        return mark() if mark is not None else None, kernel_messages()

    def _usage(self) -> dict[str, Any]:
        if self.child is not None:
            figures = resources.proc_memory(self.child)
            self._child_rss = max(self._child_rss, figures.get("VmHWM", 0))
            rss = self._child_rss
        else:
            figures = resources.proc_memory()
            rss = self.memory.sample()
        self._vm_peak = max(self._vm_peak, figures.get("VmPeak", 0))
        return {"rss_peak": rss or None, "vm_peak": self._vm_peak or None,
                "as_limit": resources.address_space_limit(), "gpu": dict(self.gpu.sample())}

    def _send_stall(self, silence: float) -> None:
        watch = self.watch
        last = "" if watch.options.no_output else watch.tail.last_line().strip()
        note = watch.notification("stalled")
        note = replace(note, ended=time.time(), output="", value="",
                       text=stall_text(silence, last))
        self.stalls += 1
        with contextlib.suppress(Exception):
            watch.submit(note, "stall")


class Sampler:
    """The one thread per process that samples every running job's monitor when it is due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._monitors: list[Monitor] = []
        self._thread: threading.Thread | None = None
        self._wake = 0.0  # when the sleeping thread wakes by itself (0 while it is awake)
        self._last_job = 0.0  # when a job last ended

    def add(self, monitor: Monitor) -> None:
        with self._cond:
            self._monitors.append(monitor)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wxnotify-monitor", daemon=True)
                self._thread.start()
            elif monitor.due < self._wake:  # it would oversleep this job's first sample
                self._cond.notify()

    def remove(self, monitor: Monitor) -> None:
        with self._cond:
            if monitor in self._monitors:
                self._monitors.remove(monitor)
            self._last_job = time.monotonic()

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [m for m in self._monitors if m.due <= now]
                if not due:  # idle until the next sample is due, or until a job starts
                    idle = now + (FIRST if now - self._last_job < LINGER else 3600)
                    self._wake = min((m.due for m in self._monitors), default=idle)
                    self._cond.wait(self._wake - now)
                    self._wake = 0.0
                    continue
            watchdog.flush()  # what a full pipe held back
            for monitor in due:
                started = time.thread_time()
                with contextlib.suppress(Exception):  # a failed sample must never end the watch
                    monitor.sample()
                monitor.cpu_seconds += time.thread_time() - started
                monitor.due = now + monitor.tick

    def after_fork(self) -> None:
        self.__init__()  # type: ignore[misc]


_sampler = Sampler()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_sampler.after_fork)


def start(watch: Any) -> Monitor | None:
    """Start monitoring ``watch``'s job; None (and no harm done) if it cannot."""
    try:
        return Monitor(watch).start()
    except Exception:
        return None
