"""The watchdog process (``python -m wxnotify_magic.watchdog_process FD``) and what it knows how to do.

It waits on the read end of a pipe whose write end only the kernel holds (``watchdog.py`` is the kernel's end).
At end-of-file with a job armed it gathers the evidence (how the kernel ended, the out-of-memory counters, a
restart request), sends ONE death message per job through the normal outbox, pacing and quotas, and exits;
with nothing armed it just exits. Each armed job is kept as a file in ``state_dir()/watchdog`` (owner-only):
whoever reports a death first claims that file by renaming it, so exactly one message goes out, also when
the watchdog died with its kernel and the next kernel finds the file (``recover()``).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from .paths import make_private_dir, open_private, state_dir

FLUSH_TIMEOUT = 30.0  # how long a watchdog tries to deliver before leaving the rest to the outbox
HANDOVER = 600.0  # how long a watchdog goes on delivering what its kernel left queued (retries included)
ZOMBIE_WAIT = 30.0  # after end-of-file, how long a dying kernel may take to end before we think it lives on
SAVE_DELAY = 1.0  # a job's state file is written once it has run this long, then at most this often
READ_PAUSE = 0.2  # after a read the watchdog rests: the kernel's writes then wake nobody (pipe data keeps)
STATE_FOLDER = "watchdog"


# ------------------------------------------------------------------------------------- process identity


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from field 3 (state) on, or None when the process is gone (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot): with the pid, it names one process for good."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def alive(pid: int | None, started: int | None) -> bool:
    """True while the process ``pid`` that started at ``started`` runs (a zombie counts as gone)."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    if fields is None:
        if os.path.isdir("/proc/self"):
            return False
        try:  # no /proc: ask the kernel
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    return fields[0] not in ("Z", "X") and (started is None or start_time(pid) == started)


def exit_status(pid: int, started: int | None, wait: float = ZOMBIE_WAIT) -> tuple[bool, int | None]:
    """Whether ``pid`` has ended (within ``wait`` seconds), and how, like ``Popen.returncode`` (-N: signal N).

    Only its parent can reap it, but until then /proc shows its zombie's wait status (Linux 3.5+); once
    reaped (or without /proc) it has ended and the status is unknown (None).
    """
    deadline = time.monotonic() + wait
    while True:
        fields = _stat_fields(pid)
        if fields is None or (started is not None and len(fields) > 19 and int(fields[19]) != started):
            return True, None
        if fields[0] in ("Z", "X"):
            code = int(fields[49]) if fields[0] == "Z" and len(fields) > 49 else None
            if code is None:
                return True, None
            return True, (-(code & 0x7F) if code & 0x7F else code >> 8)
        if time.monotonic() > deadline:
            return False, None
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------------ state


def state_folder(home: str | os.PathLike[str] | None = None) -> Path:
    """Where armed jobs are kept: ``watchdog/`` in ``home`` (default: the state folder)."""
    return Path(home) / STATE_FOLDER if home else state_dir() / STATE_FOLDER


def write_state(path: Path, record: dict[str, Any]) -> bool:
    """Write ``record`` to ``path`` atomically, owner-only; False when the folder is not writable."""
    try:
        make_private_dir(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False)
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def claim(path: Path) -> Path | None:
    """Take the job file for reporting; only one claimant succeeds. The claimed path, or None."""
    claimed = path.with_name(path.name[: -len(".json")] + f".claimed-{os.getpid()}")
    try:
        os.rename(path, claimed)
    except OSError:
        return None
    return claimed


# --------------------------------------------------------------------------------------- death messages


def death_notification(job: dict[str, Any], cause_text: str, ended: float | None = None) -> Any:
    """The one message for a job whose process died: the job's template, its last tail and figures, the cause."""
    from dataclasses import replace

    from .durations import human_duration
    from .i18n import tr
    from .message import Notification

    note = Notification.from_dict(job.get("note") or {})
    ended = time.time() if ended is None else ended
    elapsed = human_duration(max(0.0, ended - (note.started or ended)))
    title = note.title or "wxnotify"
    if note.execution_count is not None:
        text = tr("kernel died while running cell [{count}] '{title}' after {elapsed}",
                  count=note.execution_count, title=title, elapsed=elapsed)
    else:
        text = tr("the process died while running '{title}' after {elapsed}", title=title, elapsed=elapsed)
    usage = job.get("usage") or {}
    return replace(note, status="died", ended=ended, text=text, cause=cause_text, lang=note.lang or job.get("lang", ""),
                   output="" if job.get("no_output") else job.get("tail", ""),
                   peak_memory=usage.get("rss_peak") or note.peak_memory,
                   gpu_peaks=usage.get("gpu") or note.gpu_peaks)


def evidence_for(job: dict[str, Any], status: int | None, request: str) -> Any:
    """The evidence about one job's death: exit status, request, OOM counters now against the job's baseline."""
    from .resources import evidence

    return evidence(job.get("baseline") or {}, status, job.get("usage") or {}, request)


def submit(job: dict[str, Any], note: Any, flush: float | None) -> None:
    """Hand ``note`` to the outbox for the job's destinations; with ``flush``, wait that long for delivery."""
    from . import delivery
    from .providers import parse_destination

    route = job.get("route") or {}
    dests = [parse_destination(url, name=name) for url, name in route.get("to", [])]
    fallbacks = {key: parse_destination(url, name=name) for key, (url, name) in route.get("fallbacks", {}).items()}
    sender = delivery.get_sender()
    sender.submit(note, dests, "final", fallbacks, dict(route.get("quotas") or {}))
    if flush:
        sender.flush(flush)


# --------------------------------------------------------------------------------------- watchdog side


class Watchdog:
    """The process that waits for the kernel's end-of-file."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.kernel: dict[str, Any] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, Path | None] = {}
        self.unsaved: dict[str, float] = {}  # job id -> when its state file is due
        self.saved: dict[str, float] = {}  # job id -> when its state file was last written
        self.request = ""
        self.outboxes: dict[str, str] = {}  # state folder -> API base: what the kernel leaves queued we deliver

    def run(self) -> None:
        import select

        buffer = b""
        while True:
            due = min(self.unsaved.values(), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            if not select.select([self.fd], [], [], timeout)[0]:
                self.save_due()
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self.handle(line)
            time.sleep(READ_PAUSE)
        if self.jobs:
            self.kernel_gone()
        if self.outboxes:
            self.deliver_left()

    def handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        op, job_id = message.get("op"), message.get("id", "")
        if op == "hello":
            self.kernel = message
        elif op == "arm":
            job = self.jobs[job_id] = message.get("job") or {}
            if "baseline" not in job:  # read here, not in the kernel: the counters to compare after a death
                from .resources import oom_baseline

                job["baseline"] = oom_baseline(self.kernel.get("pid") or "self")
            self.files[job_id] = None
            self.unsaved[job_id] = time.monotonic() + SAVE_DELAY  # a quick cell never touches the disk
        elif op == "feed" and job_id in self.jobs:
            self.jobs[job_id].update({k: v for k, v in message.items() if k in ("tail", "usage")})
            self.unsaved.setdefault(job_id, self.saved.get(job_id, 0.0) + SAVE_DELAY)
        elif op == "disarm":
            self.jobs.pop(job_id, None)
            self.unsaved.pop(job_id, None)
            self.saved.pop(job_id, None)
            path = self.files.pop(job_id, None)
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
            if not self.jobs:
                self.request = ""
        elif op == "exit":
            self.request = message.get("kind", "shutdown")
        elif op == "outbox" and message.get("home"):
            self.outboxes[str(message["home"])] = str(message.get("api_base") or "")

    def save_due(self) -> None:
        now = time.monotonic()
        for job_id, due in list(self.unsaved.items()):
            if due <= now:
                del self.unsaved[job_id]
                self.save(job_id)
                self.saved[job_id] = now

    def save(self, job_id: str) -> None:
        job = self.jobs[job_id]
        path = Path(job.get("state_file") or state_folder(job.get("home")) / f"{job_id}.json")
        record = {"host": self.kernel.get("host"), "boot": self.kernel.get("boot"),
                  "kernel": [self.kernel.get("pid"), self.kernel.get("start")],
                  "watchdog": [os.getpid(), start_time(os.getpid())], "request": self.request, "job": job}
        self.files[job_id] = path if write_state(path, record) else None

    def kernel_gone(self) -> None:
        """End-of-file with jobs armed: the kernel died (or closed the pipe and lives on: then say nothing)."""
        pid, started = self.kernel.get("pid"), self.kernel.get("start")
        ended, status = exit_status(pid, started) if pid else (True, None)
        if not ended:  # the pipe closed but the kernel lives on: we cannot tell when its job ends
            _log(next(iter(self.jobs.values())), f"kernel {pid} closed the pipe but still runs: nothing reported")
            self.forget_all()
            return
        from .resources import death_cause

        reported: list[Any] = []
        for job_id, job in self.jobs.items():
            path = self.files.get(job_id)
            claimed = claim(path) if path is not None else None
            if path is not None and claimed is None:
                continue  # someone else reported it
            try:
                if job.get("route", {}).get("to") not in reported:
                    reported.append(job.get("route", {}).get("to"))
                    _use_job_env(job)
                    cause = death_cause(evidence_for(job, status, self.request))
                    submit(job, death_notification(job, cause.text), FLUSH_TIMEOUT)
            except Exception as exc:
                _log(job, f"death message not queued: {type(exc).__name__}")
            finally:
                if claimed is not None:
                    with contextlib.suppress(OSError):
                        claimed.unlink()
        from . import delivery

        delivery.reset_sender()

    def deliver_left(self, limit: float = HANDOVER) -> None:
        """The kernel has ended: deliver what it left queued (and is due within ``limit``), with its retries, then
        stop. A request the kernel had in flight is sent again only when no answer to it was recorded."""
        from . import delivery

        pid, started = self.kernel.get("pid"), self.kernel.get("start")
        if pid:  # its items stay leased to it while it lives: wait (bounded) for its end
            exit_status(pid, started)
        deadline = time.monotonic() + limit
        for home, api_base in self.outboxes.items():
            try:
                _use_job_env({"home": home, "api_base": api_base})
                sender = delivery.get_sender()
                if sender.outbox.next_due() is not None:
                    sender.flush(max(0.0, deadline - time.monotonic()), ahead=True)
            except Exception as exc:
                _log({"home": home}, f"queued messages not delivered: {type(exc).__name__}")
            finally:
                delivery.reset_sender()

    def forget_all(self) -> None:
        for path in self.files.values():
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
        self.jobs.clear()


def _use_job_env(job: dict[str, Any]) -> None:
    """Speak and send as the kernel would have: its language, state folder and API base."""
    from . import delivery
    from .i18n import set_language

    with contextlib.suppress(ValueError):
        set_language(job.get("lang") or "auto")
    for name, value in (("WXNOTIFY_HOME", job.get("home")), ("WXNOTIFY_API_BASE", job.get("api_base"))):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    delivery.reset_sender()


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:64] or "host"


def _log(job: dict[str, Any], line: str) -> None:
    """One line in the state folder's watchdog.log (never a secret: only our own words)."""
    with contextlib.suppress(OSError):
        folder = state_folder(job.get("home"))
        make_private_dir(folder)
        fd = open_private(folder / "watchdog.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


# ----------------------------------------------------------------------------------- the next kernel


def orphans(home: str | os.PathLike[str] | None = None) -> list[Path]:
    """Job files on this machine whose kernel and watchdog are both gone (nobody reported their death)."""
    folder = state_folder(home)
    try:
        names = [p for p in folder.iterdir() if p.suffix == ".json"]
    except OSError:
        return []
    here, boot = socket.gethostname(), boot_id()
    found = []
    for path in names:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("host") != here:
            continue  # another machine's kernel, over a shared home: not ours to judge
        same_boot = record.get("boot") == boot
        if same_boot and (alive(*record.get("kernel", [None, None])) or alive(*record.get("watchdog", [None, None]))):
            continue
        found.append(path)
    return found


def recover(home: str | os.PathLike[str] | None = None) -> int:
    """Report the deaths nobody reported (the watchdog died too); returns how many were queued."""
    from .i18n import tr

    count = 0
    for path in orphans(home):
        claimed = claim(path)
        if claimed is None:
            continue
        try:
            record = json.loads(claimed.read_text(encoding="utf-8"))
            job = record.get("job") or {}
            rebooted = record.get("boot") != boot_id()
            cause = tr("the machine restarted") if rebooted else tr("unknown; found when the next kernel started")
            note = death_notification(job, cause, ended=_mtime(claimed))
            submit(job, note, flush=None)
            count += 1
        except Exception as exc:
            _log({"home": str(home) if home else None}, f"orphaned job not reported: {type(exc).__name__}")
        finally:
            with contextlib.suppress(OSError):
                claimed.unlink()
    return count


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    """``python -m wxnotify_magic.watchdog FD``: watch the pipe FD until the kernel is gone."""
    import signal

    args = sys.argv[1:] if argv is None else argv
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # a terminal's Ctrl-C or hang-up is not for us
    try:
        fd = int(args[0])
    except (IndexError, ValueError):
        print("usage: python -m wxnotify_magic.watchdog FD (started by the wxnotify extension)", file=sys.stderr)
        return 2
    try:
        Watchdog(fd).run()
    except Exception as exc:  # say why in the state folder's log; never a secret, only the error's type
        _log({}, f"watchdog stopped: {type(exc).__name__}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
