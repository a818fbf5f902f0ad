"""Long-lived worker threads for the sender: a job runs on an idle worker, or on a new one when none is idle.

A worker that stays idle for ``idle`` seconds ends, and so does every idle worker at ``stop()``. At most
``spare`` workers wait idle: a worker that finds that many already waiting ends at once. Without that bound a
sender that reports its outcome before its worker is back waiting (the receiver wakes first) starts a new worker
for the next message, and workers taking turns never idle out. A worker ending runs ``on_exit`` in its own thread
first (to close what it opened: its SQLite connection, its HTTP session). So threads and descriptors follow how
many lanes are sent on at once, never how many messages went out.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable

IDLE = 60.0  # seconds an idle worker waits for its next job before it ends
SPARE = 2  # idle workers kept at most (a message to two services at once finds both waiting)


class Pool:
    """Runs jobs on long-lived daemon threads, each job at once (a job never queues behind another)."""

    def __init__(self, name: str, on_exit: Callable[[], None], idle: float = IDLE, spare: int = SPARE) -> None:
        self.name = name
        self.on_exit = on_exit
        self.idle = idle
        self.spare = spare
        self._cond = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self._waiting = 0  # workers waiting for a job
        self._threads: set[threading.Thread] = set()
        self._stop = False

    @property
    def size(self) -> int:
        """How many workers are alive (running a job or waiting for one)."""
        with self._cond:
            return len(self._threads)

    def run(self, job: Callable[[], None]) -> bool:
        """Start ``job`` on a worker; False when no worker is free and no thread can start (interpreter exit)."""
        with self._cond:
            self._stop = False
            if self._waiting > len(self._jobs):  # a worker is free for it
                self._jobs.append(job)
                self._cond.notify()
                return True
            # An empty context: the workers (which report receipts to the fronts) must not carry the context of
            # the cell that started them (ipykernel keeps the message parent in a ContextVar).
            thread = threading.Thread(target=contextvars.Context().run, args=(self._work, job), name=self.name,
                                      daemon=True)
            try:
                thread.start()
            except RuntimeError:  # Python 3.12+ starts no thread from atexit handlers
                return False
            self._threads.add(thread)
            return True

    def stop(self) -> None:
        """Let the idle workers end now; busy ones end when their job (and any job left queued) is done."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        """Wait (bounded) for every worker to end (after ``stop()``)."""
        with self._cond:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _work(self, job: Callable[[], None] | None) -> None:
        try:
            while job is not None:
                job()
                job = self._next()
        finally:
            try:
                self.on_exit()
            finally:
                with self._cond:
                    self._threads.discard(threading.current_thread())

    def _next(self) -> Callable[[], None] | None:
        """The next job, or None when this worker should end (idle too long, enough spares, or stopped)."""
        with self._cond:
            while not self._jobs:
                if self._stop or self._waiting >= self.spare:
                    return None
                self._waiting += 1
                try:
                    woke = self._cond.wait(self.idle)
                finally:
                    self._waiting -= 1
                if not woke and not self._jobs:
                    return None
            return self._jobs.popleft()
