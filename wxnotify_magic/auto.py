"""Auto mode: watch every cell; notify for long or failed ones, or gather a Run All into one digest."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .i18n import tr
from .message import Notification, digest
from .watch import Watch, WatchOptions, host_name, should_notify, status_of


class AutoMode:
    """Turned on by ``%wxnotify auto on``; driven by the cell hooks' pre/post_run_cell."""

    def __init__(self, options: WatchOptions, route: Any, batch: bool, settle: float,
                 submit: Callable[[Notification, str], Any], report: Callable[[Any], None]) -> None:
        self.options = options
        self.route = route
        self.batch = batch
        self.settle = settle
        self.submit = submit
        self.report = report
        self.cells: list[Notification] = []
        self._timer: threading.Timer | None = None
        self._context: dict[str, Any] = {}
        self._lock = threading.Lock()

    def cell_started(self) -> None:
        with self._lock:
            self._cancel_timer()

    def cell_finished(self, watch: Watch, error: BaseException | None, value: Any, tb: str | None,
                      status: str | None = None, printed_error: str = "") -> None:
        """Notify now (one message per cell), or add the cell to the digest and wait for the run to go idle.
        ``status`` is the kernel's verdict when it differs from the error's; ``printed_error`` see ``Watch``."""
        if not self.batch:
            self.report(watch.finish(error, value, tb, status=status, printed_error=printed_error))
            return
        watch.stop_capture()
        note = watch.notification(status or status_of(error), tb or "", value, printed_error)
        with self._lock:
            self.cells.append(note)
            self._context = watch.context
            self._start_timer()

    def flush(self) -> Any:
        """Send the digest gathered so far (when the run went idle, at unload or at exit)."""
        with self._lock:
            cells, self.cells = self.cells, []
            self._cancel_timer()
            context = self._context
        if not cells:
            return None
        started, ended = cells[0].started or time.time(), cells[-1].ended or time.time()
        status = "failed" if any(c.status == "failed" for c in cells) else "success"
        if not should_notify(status, ended - started, self.options):
            return None
        notebook = context.get("notebook", "")
        title = self.options.title or (tr("{notebook} run", notebook=notebook) if notebook else tr("notebook run"))
        note = digest(cells, title)
        note = Notification(**{**note.to_dict(), "started": started, "ended": ended,
                               "host": context.get("host") or host_name(), "notebook": notebook})
        return self.submit(note.without_output() if self.options.no_output else note, "final")

    def rearm(self) -> None:
        """After a cell that is not part of the digest, still send the pending digest once idle."""
        with self._lock:
            if self.cells and self._timer is None:
                self._start_timer()

    def stop(self) -> Any:
        return self.flush()

    def _start_timer(self) -> None:
        self._cancel_timer()
        self._timer = threading.Timer(self.settle, self.flush)
        self._timer.daemon = True
        self._timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
