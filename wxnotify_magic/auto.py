"""Auto mode: watch every cell; notify for long or failed ones, or gather a Run All into one digest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .durations import human_duration
from .message import Notification
from .watch import Watch, WatchOptions, host_name, should_notify, status_of


@dataclass
class CellRecord:
    """What one cell of a batch did, kept for the digest."""

    count: int | None
    status: str
    seconds: float
    output: str
    traceback: str


@dataclass
class Digest:
    """Cells run back to back, reported together when the run goes idle."""

    started: float = 0.0
    ended: float = 0.0
    cells: list[CellRecord] = field(default_factory=list)

    def notification(self, title: str, host: str, notebook: str) -> Notification:
        failed = [c for c in self.cells if c.status != "success"]
        status = "failed" if any(c.status == "failed" for c in failed) else \
            "interrupted" if failed else "success"
        total = sum(c.seconds for c in self.cells)
        lines = [f"{len(self.cells)} cells ran, {human_duration(total)} of work"]
        if failed:
            lines.append("not finished: " + ", ".join(f"[{c.count}] {c.status}" for c in failed))
        first = next((c for c in failed if c.traceback), None)
        last_output = next((c.output for c in reversed(self.cells) if c.output), "")
        return Notification(status=status, title=title, text="\n".join(lines), started=self.started,
                            ended=self.ended, host=host, notebook=notebook,
                            execution_count=self.cells[-1].count if self.cells else None,
                            output=last_output, traceback=first.traceback if first else "")


class AutoMode:
    """Turned on by ``%wxnotify auto on``; driven by the magics' pre/post_run_cell handlers."""

    def __init__(self, options: WatchOptions, batch: bool, settle: float,
                 submit: Callable[[Notification, str], Any], report: Callable[[Any], None]) -> None:
        self.options = options
        self.batch = batch
        self.settle = settle
        self.submit = submit
        self.report = report
        self.digest: Digest | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def cell_started(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def cell_finished(self, watch: Watch, error: BaseException | None, value: Any, tb: str | None,
                      count: int | None) -> None:
        """Notify now (single mode), or add the cell to the digest and wait for the run to go idle."""
        if not self.batch:
            self.report(watch.finish(error, value, tb))
            return
        watch.stop_capture()
        status = status_of(error)
        with self._lock:
            if self.digest is None:
                self.digest = Digest(started=watch.started)
            self.digest.cells.append(CellRecord(count, status, watch.elapsed,
                                                watch.tail.text(self.options.tail), tb or ""))
            self.digest.ended = time.time()
            self._timer = threading.Timer(self.settle, self.flush, kwargs={"context": watch.context})
            self._timer.daemon = True
            self._timer.start()

    def flush(self, context: dict[str, Any] | None = None) -> Any:
        """Send the digest gathered so far (when the run went idle, at unload or at exit)."""
        with self._lock:
            digest, self.digest = self.digest, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if digest is None or not digest.cells:
            return None
        ctx = context or {}
        status = "failed" if any(c.status == "failed" for c in digest.cells) else "success"
        if not should_notify(status, digest.ended - digest.started, self.options):
            return None
        notebook = ctx.get("notebook", "")
        title = self.options.title or (f"{notebook} run" if notebook else "notebook run")
        note = digest.notification(title, ctx.get("host") or host_name(), notebook)
        return self.submit(note.without_output() if self.options.no_output else note, "final")

    def rearm(self, context: dict[str, Any]) -> None:
        """After a cell that is not part of the digest, still send the pending digest once idle."""
        with self._lock:
            if self.digest is not None and self._timer is None:
                self._timer = threading.Timer(self.settle, self.flush, kwargs={"context": context})
                self._timer.daemon = True
                self._timer.start()

    def stop(self) -> Any:
        return self.flush()
