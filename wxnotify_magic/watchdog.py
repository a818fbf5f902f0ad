"""The kernel's end of the watchdog: arm it when a watched job starts, feed it, disarm it when the job ends.

``arm(job)`` (the first one starts the watchdog, in the background), ``feed(job_id, tail=..., usage=...)``
every few seconds, ``disarm(job_id)``, ``flush()`` every tick, ``close()`` at unload. The watchdog process
(``watchdog_process.py``) runs in its own session, so killing the kernel or its process group leaves it
alone, and holds the read end of a pipe whose write end only the kernel holds (forked children drop it):
end-of-file means the kernel is gone, with no polling. Messages are JSON lines, written without ever
blocking; secrets (destination URLs) travel through the pipe only, never argv or the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .watchdog_process import boot_id, recover, safe_name, start_time, state_folder

MAX_PENDING = 1 << 20  # bytes queued for a watchdog that stopped reading: give up on it


# ------------------------------------------------------------------------------------------ kernel side


class Client:
    """The kernel's end: starts the watchdog once, lazily, and writes to it without ever blocking.

    It keeps the armed jobs, so that a watchdog that was killed is replaced (and re-armed) at the next
    sample, and a job that ends while no watchdog runs still has its state file removed.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._proc: Any = None
        self._queue: list[list[Any]] = []  # [op, job id, bytes] not yet in the pipe (the first maybe in part)
        self._partial = False  # the first queued message is partly written: it must be finished
        self._count = 0
        self._failed: float | None = None  # when a watchdog last failed to start (retry after a minute)
        self._spawning: threading.Thread | None = None
        self._fifo = (0, 0)  # (device, inode) of our pipe: never write to an fd someone else now owns
        self.jobs: dict[str, dict[str, Any]] = {}
        self.outboxes: dict[str, str] = {}  # state folder -> API base of the outboxes this process wrote to

    @property
    def armed(self) -> set[str]:
        return set(self.jobs)

    @property
    def queued(self) -> int:
        """Messages waiting for room in the pipe."""
        return len(self._queue)

    @property
    def pid(self) -> int | None:
        """The watchdog's pid while one is connected."""
        return self._proc.pid if self._proc is not None and self._fd is not None else None

    def arm(self, job: dict[str, Any]) -> str:
        """Arm the watchdog for a job; the first arm starts it in the background (the cell never waits)."""
        with self._lock:
            self._count += 1
            job_id = f"{os.getpid()}-{self._count}"
            host = safe_name(socket.gethostname())
            job = {**job, "state_file": str(state_folder(job.get("home")) / f"{host}-{job_id}.json")}
            self.jobs[job_id] = job
            if self._fd is not None:
                self._send({"op": "arm", "id": job_id, "job": job})
            else:
                self._spawn_soon()
            return job_id

    def feed(self, job_id: str, **update: Any) -> None:
        """Hand the watchdog the latest tail and figures of an armed job (replacing a lost watchdog first)."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return
            job.update(update)
            if self._fd is not None:
                if self._unsent("feed", job_id):  # a newer feed replaces one still queued
                    self._queue = [m for i, m in enumerate(self._queue)
                                   if m[:2] != ["feed", job_id] or self._held(i)]
                self._send({"op": "feed", "id": job_id, **update})
            else:
                self._spawn_soon()  # none yet, or it was killed: a new one gets every job, tail included

    def disarm(self, job_id: str) -> None:
        with self._lock:
            job = self.jobs.pop(job_id, None)
            if job is None:
                return
            if self._fd is not None:
                if self._unsent("arm", job_id):  # it never reached the watchdog: forget it altogether
                    self._queue = [m for i, m in enumerate(self._queue) if m[1] != job_id or self._held(i)]
                else:
                    self._send({"op": "disarm", "id": job_id})
            else:  # no watchdog to tidy up: remove the job's state file ourselves (no false alarm later)
                with contextlib.suppress(OSError):
                    os.unlink(job["state_file"])

    def hand_over(self, home: str, api_base: str) -> None:
        """Have the watchdog deliver, once this process has ended, what it left queued in ``home``'s outbox (the
        first call starts the watchdog in the background)."""
        with self._lock:
            if self.outboxes.get(home) == api_base:
                return
            self.outboxes[home] = api_base
            if self._fd is not None:
                self._send({"op": "outbox", "home": home, "api_base": api_base})
            else:
                self._spawn_soon()

    @property
    def takes_over(self) -> bool:
        """True when a watchdog is connected that will deliver what this process leaves queued."""
        with self._lock:
            return self._fd is not None and bool(self.outboxes)

    def exit_requested(self, kind: str) -> None:
        """The front end asked for a restart or shutdown while a job ran: the likely cause of what follows."""
        with self._lock:
            if self.jobs:
                self._send({"op": "exit", "kind": kind})

    def close(self) -> None:
        """Disarm everything and let the watchdog go (it exits at end-of-file with nothing armed)."""
        spawning = self._spawning
        if spawning is not None:
            spawning.join(10)  # a watchdog being started must be closed too
        with self._lock:
            for job_id in list(self.jobs):
                self.disarm(job_id)
            fd, proc, stuck = self._fd, self._proc, bool(self._queue)
            self._fd, self._proc, self._queue, self._partial = None, None, [], False
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if proc is not None:
            if stuck:  # it stopped reading: it would not learn of the disarms, so it must not outlive us
                with contextlib.suppress(OSError):
                    proc.kill()
            # reap it when it exits, so no zombie is left behind
            threading.Thread(target=proc.wait, name="wxnotify-watchdog-reaper", daemon=True).start()

    def after_fork(self) -> None:
        """In a forked child: drop the write end (else the kernel's death would go unseen) and start afresh."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self.__init__()  # type: ignore[misc]

    # -- internals -----------------------------------------------------------------------------------------

    def _spawn_soon(self) -> None:
        """Start a watchdog in a thread (a process start takes milliseconds); it is armed with every job held."""
        if self._spawning is not None and self._spawning.is_alive():
            return
        if self._failed is not None and time.monotonic() - self._failed < 60:
            return
        self._spawning = threading.Thread(target=self._spawn, name="wxnotify-watchdog-start", daemon=True)
        self._spawning.start()

    def _spawn(self) -> bool:
        """Start a watchdog and arm it with every job held; False when it cannot start."""
        import subprocess

        if not sys.executable or os.name != "posix":  # a pipe's end-of-file across sessions: POSIX only
            self._failed = time.monotonic()
            return False
        read_end, write_end = os.pipe()
        package_parent = str(Path(__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH", "")
        env = {**os.environ, "PYTHONPATH": package_parent + (os.pathsep + path if path else "")}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "wxnotify_magic.watchdog_process", str(read_end)], pass_fds=(read_end,),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, cwd="/", env=env)
        except OSError:
            os.close(write_end)
            self._failed = time.monotonic()
            return False
        finally:
            os.close(read_end)
        os.set_blocking(write_end, False)
        st = os.fstat(write_end)
        with self._lock:
            if self._fd is not None:  # another start won: keep that one
                os.close(write_end)
                threading.Thread(target=proc.wait, daemon=True).start()
                return True
            self._fd, self._proc, self._fifo = write_end, proc, (st.st_dev, st.st_ino)
            self._queue, self._partial = [], False
            self._send({"op": "hello", "pid": os.getpid(), "start": start_time(os.getpid()), "boot": boot_id(),
                        "host": socket.gethostname()})
            for job_id, job in self.jobs.items():
                self._send({"op": "arm", "id": job_id, "job": job})
            for home, api_base in self.outboxes.items():
                self._send({"op": "outbox", "home": home, "api_base": api_base})
            return self._fd is not None

    def flush(self) -> None:
        """Every tick (the sampler): replace a watchdog that died, write what a full pipe held back."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:  # our child: one waitpid, no zombie
                self._lost()
            if self._fd is None:
                if self.jobs or self.outboxes:
                    self._spawn_soon()
            elif self._queue:
                self._write()

    def _send(self, message: dict[str, Any]) -> None:
        if self._fd is None:
            return
        data = (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self._queue.append([message["op"], message.get("id", ""), data])
        self._write()

    def _write(self) -> None:
        assert self._fd is not None
        try:
            st = os.fstat(self._fd)
            ours = stat.S_ISFIFO(st.st_mode) and (st.st_dev, st.st_ino) == self._fifo
        except OSError:
            ours = False
        if not ours:  # user code closed our pipe (the number may now be another file's): let it go
            self._fd = None
            self._lost()
            return
        while self._queue:
            data = self._queue[0][2]
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                break  # the pipe is full: the rest goes at the next message or tick
            except OSError:  # the watchdog is gone: a new one is started at the next feed
                self._lost()
                return
            if written < len(data):
                self._queue[0][2], self._partial = data[written:], True
                break
            self._queue.pop(0)
            self._partial = False
        if sum(len(m[2]) for m in self._queue) > MAX_PENDING:  # it stopped reading: give it up
            self._lost()

    def _unsent(self, op: str, job_id: str) -> bool:
        return any(m[0] == op and m[1] == job_id and not self._held(i) for i, m in enumerate(self._queue))

    def _held(self, index: int) -> bool:
        """The partly written first message must stay (the rest of it is owed to the pipe)."""
        return index == 0 and self._partial

    def _lost(self) -> None:
        fd, proc = self._fd, self._proc
        self._fd, self._proc, self._queue, self._partial = None, None, [], False
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.poll()


_client = Client()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_client.after_fork)


def client() -> Client:
    return _client


def arm(job: dict[str, Any]) -> str:
    """Arm the watchdog for one job (see ``monitor.Monitor.job``); returns the job id."""
    return _client.arm(job)


def feed(job_id: str, **update: Any) -> None:
    """Hand over the latest ``tail`` (str) and ``usage`` (dict) of an armed job."""
    _client.feed(job_id, **update)


def disarm(job_id: str) -> None:
    _client.disarm(job_id)


def close() -> None:
    _client.close()


def hand_over(home: str, api_base: str) -> None:
    """At this process's end, the watchdog delivers what is left queued in ``home``'s outbox (bounded)."""
    _client.hand_over(home, api_base)


def flush() -> None:
    _client.flush()


def route_record(destinations: Sequence[Any], fallbacks: dict[str, Any], quotas: dict[str, int]) -> dict[str, Any]:
    """Where a job's death message goes, as plain values (URLs hold secrets: they only cross the pipe)."""
    return {"to": [[d.url, d.name] for d in destinations],
            "fallbacks": {name: [d.url, d.name] for name, d in fallbacks.items()}, "quotas": dict(quotas)}


def exit_requested(shell: Any) -> None:
    """The front end asked the kernel to restart or shut down (``shell.exit_now``, which ipykernel's
    ``do_shutdown`` sets on its control thread even while a cell runs): tell the watchdog, if a job is armed."""
    if _client.armed:
        _client.exit_requested(_request_kind(shell))


def _request_kind(shell: Any) -> str:
    try:
        parent = shell.kernel.get_parent("control")
        if parent.get("header", {}).get("msg_type") == "shutdown_request":
            return "restart" if parent.get("content", {}).get("restart") else "shutdown"
    except Exception:
        pass
    return "shutdown"


def recover_left_jobs() -> None:
    """If job files are lying around (their watchdog died with its kernel), report those jobs; never raises."""
    with contextlib.suppress(Exception):
        if any(name.endswith(".json") for name in os.listdir(state_folder())):
            recover()
