"""The kernel death alarm with real kernels (jupyter_client) against the local inbox.

Each test starts a kernel with the extension loaded, runs a watched cell, and kills the kernel as the world
would (SIGKILL, a segfault, a restart, the out-of-memory killer). It waits on state, never on the clock: a
kill comes once the watchdog holds the cell's output; absence is checked after the sender has drained.
Every test ends with no watchdog process left for its home folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETS, fact, last_output, wait_until
from jupyter_client import KernelManager

from wxnotify_magic import resources
from wxnotify_magic.watchdog_process import alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals, /proc and cgroups")



def watchdogs(home: Path) -> list[int]:
    """Live watchdog processes working for ``home`` (found by their command line and environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"wxnotify_magic.watchdog" in cmdline and f"WXNOTIFY_HOME={home}".encode() in environ.split(b"\0"):
            found.append(int(entry))
    return found


def armed_with(home: Path, text: str, watchdog: int | None = None) -> bool:
    """True once the watchdog's state for a job holds ``text`` (it has the cell's output); with ``watchdog``,
    once that watchdog process wrote it."""
    for path in (home / "watchdog").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text())
            if text in record["job"].get("tail", "") and watchdog in (None, record["watchdog"][0]):
                return True
    return False


class Kernel:
    """A real ipykernel with the extension loaded, driven as a notebook front end drives it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.run("%load_ext wxnotify_magic")

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid  # type: ignore[union-attr]

    def run(self, code: str, timeout: float = 60) -> dict[str, Any]:
        """Execute a cell and wait for its reply; the reply's content (status, execution_count)."""
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
        return reply["content"]

    def start(self, code: str) -> str:
        """Start executing a cell without waiting; returns the message id."""
        return self.kc.execute(code)

    def execution_count(self, msg_id: str) -> int:
        """The cell's number, as the front end shows it (from its execute_input broadcast)."""
        def find() -> int | None:
            with contextlib.suppress(Exception):
                while True:
                    msg = self.kc.get_iopub_msg(timeout=0.2)
                    if msg["msg_type"] == "execute_input" and msg["parent_header"].get("msg_id") == msg_id:
                        return int(msg["content"]["execution_count"])
            return None
        return wait_until(find, what="execute_input")

    def close(self) -> None:
        self.kc.stop_channels()
        with contextlib.suppress(Exception):
            self.km.shutdown_kernel(now=True)


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The kernel's environment: the inbox, a fresh WXNOTIFY_HOME and a destination (set by ``home``)."""
    return {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}


@pytest.fixture
def kernels(env: dict[str, str], home: Path) -> Iterator[Callable[[], Kernel]]:
    """Start kernels on demand; at the end, shut them down and check that no watchdog is left behind."""
    started: list[Kernel] = []

    def start() -> Kernel:
        started.append(Kernel(env))
        return started[-1]

    yield start
    for kernel in started:
        kernel.close()
    assert wait_until(lambda: not watchdogs(home), 20, "watchdogs to exit") is True


def cause(content: str) -> str:
    """A death's likely cause: the line that leads the body (as a failure's exception line does)."""
    return re.sub(r"\\(.)", r"\1", content.split("\n", 1)[0].strip("*"))


def one_death_message(inbox: Any, home: Path) -> dict[str, Any]:
    """Wait for the death message and for the watchdog to finish; exactly one message must have come."""
    try:
        (msg,) = inbox.wait_for(1, timeout=10)
    except TimeoutError:
        folder = home / "watchdog"
        log = (folder / "watchdog.log").read_text() if (folder / "watchdog.log").exists() else "(no log)"
        files = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        with contextlib.suppress(Exception):
            import sqlite3

            with sqlite3.connect(home / "outbox.sqlite3") as db:
                files += [str(r) for r in db.execute("SELECT status, kind, next_try - created, reason FROM outbox")]
        raise AssertionError(f"no death message within 10 s; watchdogs {watchdogs(home)}, files {files}, "
                             f"log: {log}") from None
    wait_until(lambda: not watchdogs(home), 30, "the watchdog to finish")
    assert len(inbox.messages) == 1, [m["title"] for m in inbox.messages]
    for secret in SECRETS:
        assert secret not in msg["title"] + msg["content"]
    return dict(msg)


CELL = ("%%wxnotify -t 'resnet50 on imagenet'\n"
        "import time\n"
        "print('epoch 1 loss 0.93', flush=True)\n"
        "print('epoch 2 loss 0.71', flush=True)\n")


def test_sigkill_mid_cell_sends_one_death_message(kernels, home, inbox):
    kernel = kernels()
    msg_id = kernel.start(CELL + "time.sleep(600)")
    count = kernel.execution_count(msg_id)
    wait_until(lambda: armed_with(home, "epoch 2 loss 0.71"), what="the watchdog to hold the tail")
    os.kill(kernel.pid, signal.SIGKILL)
    msg = one_death_message(inbox, home)
    content = msg["content"]
    assert msg["title"].startswith("💀 resnet50 on imagenet died · ") and msg["title"].endswith("killed by SIGKILL")
    assert f"kernel died while running cell [{count}] 'resnet50 on imagenet' after " in content
    assert fact(content, "Cell") == f"[{count}]" and cause(content) == "killed by SIGKILL"
    assert last_output(content)[-1] == "epoch 2 loss 0.71"  # the last output line, as the kernel left it
    assert fact(content, "Peak memory").endswith("MiB")
    assert not list((home / "watchdog").glob("*.json"))  # claimed and gone: the next kernel finds nothing


def test_segfault_in_the_cell_sends_one_death_message(kernels, home, inbox):
    kernel = kernels()
    msg_id = kernel.start(CELL + "import os, signal\n"
                          f"while not any('epoch 2' in p.read_text() for p in __import__('pathlib').Path("
                          f"{str(home / 'watchdog')!r}).glob('*.json')):\n    time.sleep(0.05)\n"
                          "os.kill(os.getpid(), signal.SIGSEGV)\n")
    count = kernel.execution_count(msg_id)
    content = one_death_message(inbox, home)["content"]
    assert f"kernel died while running cell [{count}] 'resnet50 on imagenet'" in content
    assert cause(content) == "killed by SIGSEGV" and last_output(content)[-1] == "epoch 2 loss 0.71"


def test_restart_requested_while_a_stubborn_cell_runs(kernels, home, inbox):
    """jupyter_client interrupts first; a cell that ignores it is killed, and the cause is the restart."""
    kernel = kernels()
    msg_id = kernel.start(CELL + "while True:\n    try:\n        time.sleep(600)\n"
                          "    except KeyboardInterrupt:\n        print('ignoring the interrupt', flush=True)\n")
    count = kernel.execution_count(msg_id)
    wait_until(lambda: armed_with(home, "epoch 2"), what="the watchdog to hold the tail")
    kernel.km.restart_kernel(now=False)
    content = one_death_message(inbox, home)["content"]
    assert f"kernel died while running cell [{count}]" in content
    assert cause(content) == "a restart was requested while it ran"
    assert "epoch 2 loss 0.71" in last_output(content)
    # the restarted kernel finds the same state and must not report it again
    kernel.kc.wait_for_ready(timeout=60)
    kernel.run("%load_ext wxnotify_magic")
    kernel.run(DRAIN)
    assert len(inbox.messages) == 1


DRAIN = ("import threading\n"  # let the load's recovery scan finish and the sender drain
         "[t.join(30) for t in threading.enumerate() if t.name == 'wxnotify-recover']\n"
         "from wxnotify_magic import delivery\n"
         "delivery.get_sender().flush(10)\n")


def test_restart_while_an_interruptible_cell_runs_reports_the_interrupt_only(kernels, home, inbox):
    kernel = kernels()
    kernel.start(CELL + "time.sleep(600)")
    wait_until(lambda: armed_with(home, "epoch 2"), what="the watchdog to hold the tail")
    kernel.km.restart_kernel(now=False)
    (msg,) = inbox.wait_for(1, timeout=10)
    wait_until(lambda: not watchdogs(home), 30, "the watchdog to exit")
    kernel.kc.wait_for_ready(timeout=60)
    kernel.run("%load_ext wxnotify_magic")
    kernel.run(DRAIN)
    assert [m["title"] for m in inbox.messages] == [msg["title"]]
    assert msg["title"].startswith("⏹ resnet50 on imagenet interrupted")


def test_normal_shutdown_and_idle_restart_send_nothing(kernels, home, inbox):
    kernel = kernels()
    reply = kernel.run(CELL + "time.sleep(0.6)")  # long enough to arm it (a quarter second in)
    assert reply["status"] == "ok"
    inbox.wait_for(1)
    assert watchdogs(home), "the watchdog stays while the kernel lives"
    kernel.km.restart_kernel(now=False)  # idle: nothing armed
    wait_until(lambda: not watchdogs(home), 20, "the watchdog to exit with its kernel")
    kernel.kc.wait_for_ready(timeout=60)
    kernel.run("%load_ext wxnotify_magic")
    kernel.run(CELL + "time.sleep(0.1)")
    inbox.wait_for(2)
    kernel.run(DRAIN)
    kernel.km.shutdown_kernel(now=False)  # a normal shutdown
    wait_until(lambda: not watchdogs(home), 20, "the watchdog to exit with its kernel")
    titles = [m["title"] for m in inbox.messages]
    assert len(titles) == 2 and all(t.startswith("✅ resnet50 on imagenet finished · ") for t in titles)
    assert not list((home / "watchdog").glob("*.json"))


def test_watchdog_killed_too_the_next_kernel_reports_it_once(kernels, home, inbox):
    kernel = kernels()
    msg_id = kernel.start(CELL + "time.sleep(600)")
    count = kernel.execution_count(msg_id)
    wait_until(lambda: armed_with(home, "epoch 2"), what="the watchdog to hold the tail")
    (watchdog,) = watchdogs(home)
    os.kill(kernel.pid, signal.SIGSTOP)  # frozen: it cannot replace its watchdog before it dies
    os.kill(watchdog, signal.SIGKILL)
    os.kill(kernel.pid, signal.SIGKILL)
    wait_until(lambda: not alive(watchdog, None) and not watchdogs(home), what="both to be gone")
    assert inbox.messages == []
    nxt = kernels()  # the next kernel finds the job file, claims it and reports the death
    content = inbox.wait_for(1, timeout=10)[0]["content"]
    assert f"kernel died while running cell [{count}] 'resnet50 on imagenet'" in content
    assert "found when the next kernel started" in content and "epoch 2 loss 0.71" in content
    nxt.run(DRAIN)
    third = kernels()
    third.run(DRAIN)
    assert len(inbox.messages) == 1


def test_a_killed_watchdog_is_replaced_while_the_cell_runs(kernels, home, inbox):
    kernel = kernels()
    kernel.start(CELL + "time.sleep(600)")
    wait_until(lambda: armed_with(home, "epoch 2"), what="the watchdog to hold the tail")
    (first,) = watchdogs(home)
    os.kill(first, signal.SIGKILL)
    (second,) = wait_until(lambda: [p for p in watchdogs(home) if p != first], what="a new watchdog")
    wait_until(lambda: armed_with(home, "epoch 2", second), what="the new watchdog to hold the tail")
    os.kill(kernel.pid, signal.SIGKILL)
    content = one_death_message(inbox, home)["content"]
    assert cause(content) == "killed by SIGKILL" and last_output(content)[-1] == "epoch 2 loss 0.71"


# -- out of memory --------------------------------------------------------------------------------------


@contextlib.contextmanager
def memory_cgroup(limit: int) -> Iterator[Path]:
    """A child of this process's own memory cgroup limited to ``limit`` bytes; skips when not writable."""
    group = resources.memory_cgroup()
    if group is None:
        pytest.skip("no memory cgroup")
    child = Path(group.path) / f"wxnotify-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        child.mkdir()
        (child / ("memory.limit_in_bytes" if group.version == 1 else "memory.max")).write_text(str(limit))
        if group.version == 1:
            with contextlib.suppress(OSError):
                (child / "memory.memsw.limit_in_bytes").write_text(str(limit))  # no escape into swap
    except OSError as exc:
        with contextlib.suppress(OSError):
            child.rmdir()
        pytest.skip(f"memory cgroup not writable ({exc.strerror})")
    try:
        yield child
    finally:
        wait_until(lambda: not (child / "cgroup.procs").read_text().strip(), 30, "the cgroup to empty")
        child.rmdir()


def allocate(home: Path) -> str:
    """A cell that fills memory 8 MiB at a time; at 160 MiB it waits until the watchdog has seen that line."""
    seen = (f"any('allocated 160 MiB' in p.read_text() for p in Path({str(home / 'watchdog')!r}).glob('*.json'))")
    return ("%%wxnotify -t 'big join'\n"
            "import time\n"
            "from pathlib import Path\n"
            "blocks = []\n"
            "for i in range(1, 400):\n"
            "    blocks.append(bytearray(8 << 20))  # zero-filled: resident\n"
            "    print(f'allocated {8 * i} MiB', flush=True)\n"
            f"    while i == 20 and not {seen}:\n"
            "        time.sleep(0.05)\n")


def test_out_of_memory_killer_in_a_memory_cgroup(kernels, home, inbox):
    with memory_cgroup(400 << 20) as group:
        kernel = kernels()
        (group / "cgroup.procs").write_text(str(kernel.pid))
        kernel.start(allocate(home))
        content = one_death_message(inbox, home)["content"]
        kernel.close()
    assert cause(content) == ("killed by SIGKILL, likely out of memory "
                                             "(the out-of-memory killer acted in the memory cgroup)")
    assert last_output(content)[-1].startswith("allocated ")
    assert float(fact(content, "Peak memory").split()[0]) >= 160


def test_out_of_memory_at_an_address_space_limit(kernels, home, inbox):
    """Without a writable cgroup: ``ulimit -v`` (RLIMIT_AS); the process is aborted at the limit, as a failed
    allocation in native code does, and the evidence (the address space at the limit) names the cause."""
    kernel = kernels()
    kernel.start("%%wxnotify -t 'big join'\n"
                 "import resource, time\n"
                 "size = lambda: int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) * 1024\n"
                 "limit = size() + (256 << 20)\n"
                 "resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))\n"
                 "blocks = []\n"
                 "while size() < 0.95 * limit:\n"
                 "    blocks.append(bytearray(4 << 20))\n"
                 "print(f'near the limit: {size() >> 20} of {limit >> 20} MiB', flush=True)\n"
                 "time.sleep(600)\n")

    def at_limit() -> bool:
        for path in (home / "watchdog").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                job = json.loads(path.read_text())["job"]
                usage = job.get("usage") or {}
                if "near the limit" in job.get("tail", "") and usage.get("as_limit") and usage.get("vm_peak"):
                    return bool(usage["vm_peak"] >= 0.9 * usage["as_limit"])
        return False

    wait_until(at_limit, what="the watchdog to know the address space and its limit")
    os.kill(kernel.pid, signal.SIGABRT)
    why = cause(one_death_message(inbox, home)["content"])
    assert why.startswith("killed by SIGABRT, likely out of memory (address space reached ")
    assert why.endswith(" limit (ulimit -v))")


# -- wxnotify run ---------------------------------------------------------------------------------------

CLI = [sys.executable, "-m", "wxnotify_magic.cli"]


def test_run_names_the_signal_that_killed_the_command(home, inbox):
    kill_self = "import os, signal; print('working', flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    proc = subprocess.run([*CLI, "run", "-t", "worker", "--", sys.executable, "-c", kill_self],
                          capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 128 + signal.SIGKILL
    assert f"wxnotify run: {sys.executable} killed by SIGKILL\n" in proc.stderr
    content = inbox.wait_for(1)[0]["content"]
    assert "killed by SIGKILL" in content and "out of memory" not in content
    assert not watchdogs(home) or wait_until(lambda: not watchdogs(home), what="the CLI's watchdog to exit")


def test_run_killed_by_sigkill_takes_its_command_along_and_the_watchdog_reports_it(home, inbox):
    sleeper = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    run = subprocess.Popen([*CLI, "run", "-t", "sleeper", "--", sys.executable, "-c", sleeper],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=os.environ)
    try:
        assert run.stdout is not None
        command = int(run.stdout.readline())
        wait_until(lambda: list((home / "watchdog").glob("*.json")), what="the watchdog to keep the job")
        run.kill()
        run.wait(10)
        wait_until(lambda: not alive(command, None), 10, "the command to end with wxnotify run")
        content = inbox.wait_for(1)[0]["content"]
        assert "the process died while running 'sleeper'" in content
    finally:
        with contextlib.suppress(OSError):
            run.kill()


def test_run_killed_by_the_out_of_memory_killer(home, inbox):
    hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20))"
    with memory_cgroup(300 << 20) as group:
        procs = str(group / "cgroup.procs")
        proc = subprocess.run(
            [*CLI, "run", "-t", "hog", "--", sys.executable, "-c", hog], capture_output=True, text=True,
            timeout=120, env=os.environ,
            preexec_fn=lambda: Path(procs).write_text(str(os.getpid())))
        wait_until(lambda: not watchdogs(home), what="the CLI's watchdog to exit")
    assert proc.returncode == 128 + signal.SIGKILL
    assert "killed by SIGKILL, likely out of memory (the out-of-memory killer acted" in proc.stderr
    assert "likely out of memory" in inbox.wait_for(1)[0]["content"]


# -- the kernel's side under load -------------------------------------------------------------------------


def test_a_burst_of_quick_cells_keeps_its_watchdog_and_the_next_long_cell_is_armed(ip, home):
    """Thousands of back-to-back watched cells (auto mode, Run All) fill no pipe and lose no watchdog."""
    from wxnotify_magic import watchdog

    ip.run_cell("%%wxnotify --after 1h --quiet\nimport time\ntime.sleep(0.6)").raise_error()  # armed: it runs on
    first = wait_until(lambda: watchdog.client().pid, what="the watchdog to start")
    for _ in range(2000):
        ip.run_cell("%%wxnotify --after 1h --quiet\nx = 1")
    assert watchdog.client().queued <= 2  # cells that ended before their arm was written left nothing behind
    ip.user_ns["armed"] = lambda: list((home / "watchdog").glob("*.json"))
    ip.run_cell("%%wxnotify --after 1h --quiet\nimport time\nprint('long cell', flush=True)\n"
                "deadline = time.time() + 30\nwhile not armed() and time.time() < deadline:\n"
                "    time.sleep(0.05)\nfound = armed()").raise_error()
    assert len(ip.user_ns["found"]) == 1 and watchdog.client().pid == first
    wait_until(lambda: not list((home / "watchdog").glob("*.json")), what="the disarmed job's state to go")
    assert watchdogs(home) == [first]
