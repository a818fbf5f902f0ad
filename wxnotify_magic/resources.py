"""What a job used and why a process died: peak memory, GPU peaks, memory limits, out-of-memory evidence.

Linux first (``/proc``, cgroup v1 and v2) with portable fallbacks (``resource.getrusage``). Every reader here
is cheap enough to run every second and never raises; ``death_cause`` is a pure function of the evidence.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from .i18n import tr

NEAR_LIMIT = 0.9  # a peak at 90 % of a memory limit counts as "near the limit"
UNLIMITED = 1 << 62  # cgroup v1 writes "no limit" as a huge number


def _read(path: str) -> str | None:
    """A small file's text (``/proc``, cgroup files), or None; plain ``os`` calls, a watched cell does this twice."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _keyed(text: str | None, key: str) -> int | None:
    """The number after ``key`` in ``key N`` lines (memory.events, memory.oom_control, /proc/vmstat)."""
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


# ------------------------------------------------------------------------------------------- process memory


def proc_memory(pid: int | str = "self") -> dict[str, int]:
    """``VmHWM`` (resident peak), ``VmRSS`` and ``VmPeak`` (address-space peak) in bytes; {} off Linux."""
    text = _read(f"/proc/{pid}/status") or ""
    out: dict[str, int] = {}
    for key in ("VmPeak", "VmHWM", "VmRSS"):
        at = text.find(key + ":")
        if at >= 0:
            number = text[at + len(key) + 1: text.find("kB", at)].strip()
            if number.isdigit():
                out[key] = int(number) * 1024
    return out


def rusage_peak(children: bool = False) -> int | None:
    """The resident peak from ``getrusage`` (this process's lifetime, or its waited-for children's)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak() -> bool:
    """Reset this process's resident high-water mark to its current size (Linux ``clear_refs``)."""
    try:
        fd = os.open("/proc/self/clear_refs", os.O_WRONLY)
    except OSError:
        return False
    try:
        return os.write(fd, b"5") == 1
    except OSError:
        return False
    finally:
        os.close(fd)


class PeakMeter:
    """The resident peak of this process during one job; nested and overlapping jobs stay correct.

    The meter starts late (the monitor's first sample, a quarter second into the job), so it takes the
    high-water mark since the last reset too: a peak in the job's first moments is never lost. The mark is reset
    whenever a meter starts or stops, after every running meter took it in, so a job's figure starts from the
    end of the job before. Without ``clear_refs`` it falls back to the process's lifetime peak.
    """

    _running: set[PeakMeter] = set()  # noqa: RUF012 (shared by design)
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.peak = 0
        self.per_job = False

    def start(self) -> PeakMeter:
        with self._lock:
            PeakMeter._running.add(self)
            self._fold()
            self.per_job = reset_peak()
        return self

    def _fold(self) -> None:
        hwm = proc_memory().get("VmHWM") or rusage_peak() or 0
        for meter in PeakMeter._running:
            meter.peak = max(meter.peak, hwm)

    def sample(self) -> int:
        """The peak so far (bytes)."""
        with self._lock:
            if self in PeakMeter._running:
                self._fold()
            return self.peak

    def stop(self) -> int:
        with self._lock:
            if self in PeakMeter._running:
                self._fold()
                PeakMeter._running.discard(self)
                reset_peak()  # the next job's first moments are measured from here
            return self.peak


# ------------------------------------------------------------------------------------------------- GPUs


class GpuMeter:
    """Peak GPU memory per device during a job, through NVML (``pynvml``, from nvidia-ml-py) when importable.

    Counts this process's own use when NVML lists it, else (PID namespaces hide it) the device's use.
    """

    _nvml: Any = None
    _handles: list[Any] | None = None
    _init_lock = threading.Lock()

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.peaks: dict[str, int] = {}

    @classmethod
    def devices(cls) -> list[Any]:
        """NVML device handles, initialised once per process; [] without pynvml or a driver."""
        with cls._init_lock:
            if cls._handles is None:
                cls._handles = []
                try:
                    import pynvml

                    pynvml.nvmlInit()
                    cls._nvml = pynvml
                    cls._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
                except Exception:  # no module, no driver, no device: no GPU figures
                    cls._handles = []
            return cls._handles

    def sample(self) -> dict[str, int]:
        handles = self.devices()
        if not handles:
            return self.peaks
        nvml = self._nvml
        ours: dict[str, int] = {}
        busy: dict[str, int] = {}
        for index, handle in enumerate(handles):
            try:
                procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                mine = [p.usedGpuMemory or 0 for p in procs if p.pid == self.pid]
                if mine:
                    ours[str(index)] = sum(mine)
                elif procs:
                    busy[str(index)] = int(nvml.nvmlDeviceGetMemoryInfo(handle).used)
            except Exception:
                continue
        for key, used in (ours or busy).items():
            self.peaks[key] = max(self.peaks.get(key, 0), int(used))
        return self.peaks


# ------------------------------------------------------------------------------------------ memory limits


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root, mount point, fstype, super options) of the cgroup mounts, from /proc/self/mountinfo."""
    found = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        a, b = left.split(), right.split()
        if len(a) >= 5 and len(b) >= 3 and b[0] in ("cgroup", "cgroup2"):
            found.append((a[3], a[4], b[0], b[2]))
    return found


@dataclass(frozen=True)
class Cgroup:
    """The memory cgroup a process belongs to (``version`` 1 or 2, ``path`` its folder)."""

    version: int
    path: str
    top: str  # the mount point: limits are looked up from path up to here

    def limit(self) -> int | None:
        """The effective memory limit in bytes (the smallest on the way up), or None."""
        if self.version == 1:
            stat = _read(os.path.join(self.path, "memory.stat"))
            value = _keyed(stat, "hierarchical_memory_limit")
            if value is None:
                value = _number(_read(os.path.join(self.path, "memory.limit_in_bytes")))
            return value if value is not None and value < UNLIMITED else None
        limits, folder = [], self.path
        while True:
            value = _number(_read(os.path.join(folder, "memory.max")))
            if value is not None:
                limits.append(value)
            if os.path.normpath(folder) == os.path.normpath(self.top) or len(folder) <= len(self.top):
                break
            folder = os.path.dirname(folder)
        return min(limits) if limits else None

    def oom_kills(self) -> int | None:
        """How many processes the out-of-memory killer has killed in this cgroup so far."""
        if self.version == 1:
            return _keyed(_read(os.path.join(self.path, "memory.oom_control")), "oom_kill")
        return _keyed(_read(os.path.join(self.path, "memory.events")), "oom_kill")


def _number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def memory_cgroup(pid: int | str = "self") -> Cgroup | None:
    """The memory cgroup of ``pid`` (v1 memory controller first, else the v2 unified one), or None."""
    lines = [ln.split(":", 2) for ln in (_read(f"/proc/{pid}/cgroup") or "").splitlines() if ln.count(":") >= 2]
    mounts = _mounts()
    for _, controllers, path in lines:
        if "memory" in controllers.split(","):
            for root, point, fstype, options in mounts:
                if fstype == "cgroup" and "memory" in options.split(","):
                    return Cgroup(1, _under(point, root, path), point)
    for hierarchy, controllers, path in lines:
        if hierarchy == "0" and controllers == "":
            for root, point, fstype, _ in mounts:
                folder = _under(point, root, path)
                if fstype == "cgroup2" and os.path.exists(os.path.join(folder, "memory.max")):
                    return Cgroup(2, folder, point)
    return None


def _under(point: str, root: str, path: str) -> str:
    """The folder of cgroup ``path`` under a mount of hierarchy ``root`` at ``point``."""
    if root != "/" and (path == root or path.startswith(root.rstrip("/") + "/")):
        path = path[len(root):]
    return os.path.join(point, path.lstrip("/")).rstrip("/") or point


def system_oom_kills() -> int | None:
    """Processes killed by any out-of-memory killer on this machine since boot (Linux 4.13+)."""
    return _keyed(_read("/proc/vmstat"), "oom_kill")


def address_space_limit() -> int | None:
    """The soft ``RLIMIT_AS`` (``ulimit -v``) in bytes, or None when unlimited or unknown."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    return None if soft == resource.RLIM_INFINITY else int(soft)


_groups: dict[int | str, Cgroup | None] = {}  # memory cgroups looked up so far, by pid


def oom_baseline(pid: int | str = "self") -> dict[str, Any]:
    """What to compare against after the death of ``pid``: its cgroup folder and both OOM kill counters."""
    if pid not in _groups:
        _groups[pid] = memory_cgroup(pid)
    group = _groups[pid]
    return {"cgroup": [group.version, group.path, group.top] if group else None,
            "oom_kills": group.oom_kills() if group else None, "system_oom_kills": system_oom_kills()}


def oom_now(baseline: dict[str, Any]) -> dict[str, Any]:
    """The same counters read now, for a baseline taken earlier (possibly in another process)."""
    spec = baseline.get("cgroup")
    group = Cgroup(*spec) if spec else None
    return {"oom_kills": group.oom_kills() if group else None, "system_oom_kills": system_oom_kills(),
            "cgroup_limit": group.limit() if group else None}


# ------------------------------------------------------------------------------------------ why it died


@dataclass(frozen=True)
class Evidence:
    """What is known after a process ended; every field may be unknown (None)."""

    status: int | None = None  # like Popen.returncode: -N killed by signal N, else the exit code
    request: str = ""  # "restart" or "shutdown" when the front end asked for it while the job ran
    oom_kills: tuple[int | None, int | None] = (None, None)  # the cgroup's counter before and after
    system_oom_kills: tuple[int | None, int | None] = (None, None)
    peak_rss: int | None = None
    peak_vm: int | None = None
    cgroup_limit: int | None = None
    as_limit: int | None = None
    mem_total: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cause:
    """``kind`` is oom, signal, exit, restart, shutdown or unknown; ``text`` says it in one line."""

    kind: str
    text: str


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _rose(pair: tuple[int | None, int | None]) -> bool:
    before, after = pair
    return before is not None and after is not None and after > before


def oom_evidence(ev: Evidence) -> str:
    """Why out-of-memory is likely, in a few words, or "" when nothing says so."""
    if _rose(ev.oom_kills):
        return tr("the out-of-memory killer acted in the memory cgroup")
    if ev.peak_rss and ev.cgroup_limit and ev.peak_rss >= NEAR_LIMIT * ev.cgroup_limit:
        return tr("memory reached {percent}% of its {limit} limit",
                  percent=round(100 * ev.peak_rss / ev.cgroup_limit), limit=human_bytes(ev.cgroup_limit))
    if ev.peak_vm and ev.as_limit and ev.peak_vm >= NEAR_LIMIT * ev.as_limit:
        return tr("address space reached {percent}% of its {limit} limit (ulimit -v)",
                  percent=round(100 * ev.peak_vm / ev.as_limit), limit=human_bytes(ev.as_limit))
    if _rose(ev.system_oom_kills) and _big(ev):  # on a shared machine it may have killed someone else
        return tr("the system's out-of-memory killer acted")
    return ""


SYSTEM_SHARE = 0.25  # a job holding this share of the machine's memory is a likely victim of its OOM killer


def _big(ev: Evidence) -> bool:
    return bool(ev.peak_rss and ev.mem_total and ev.peak_rss >= SYSTEM_SHARE * ev.mem_total)


def mem_total() -> int | None:
    """The machine's memory in bytes (``MemTotal`` in /proc/meminfo), or None."""
    text = _read("/proc/meminfo") or ""
    at = text.find("MemTotal:")
    number = text[at + 9: text.find("kB", at)].strip() if at >= 0 else ""
    return int(number) * 1024 if number.isdigit() else None


def evidence(baseline: dict[str, Any], status: int | None, usage: dict[str, Any], request: str = "") -> Evidence:
    """Evidence about a death: the exit ``status``, the counters now against ``baseline`` (``oom_baseline``),
    and the job's last ``usage`` figures (``rss_peak``, ``vm_peak``, ``as_limit``)."""
    now = oom_now(baseline)
    return Evidence(status=status, request=request,
                    oom_kills=(baseline.get("oom_kills"), now["oom_kills"]),
                    system_oom_kills=(baseline.get("system_oom_kills"), now["system_oom_kills"]),
                    peak_rss=usage.get("rss_peak"), peak_vm=usage.get("vm_peak"),
                    cgroup_limit=now["cgroup_limit"] or usage.get("cgroup_limit"), as_limit=usage.get("as_limit"),
                    mem_total=mem_total())


OOM_SIGNALS = (signal.SIGKILL, signal.SIGABRT)  # the OOM killer's signal; abort() on a failed allocation


def death_cause(ev: Evidence) -> Cause:
    """The likely cause of a death, from the evidence: a requested restart, out of memory, a signal, an exit."""
    if ev.request == "restart":
        return Cause("restart", tr("a restart was requested while it ran"))
    if ev.request == "shutdown":
        return Cause("shutdown", tr("a shutdown was requested while it ran"))
    sig = -ev.status if ev.status is not None and ev.status < 0 else None
    oom = oom_evidence(ev)
    if oom and (sig is None or sig in OOM_SIGNALS):
        if sig is None:
            return Cause("oom", tr("likely out of memory ({evidence})", evidence=oom))
        return Cause("oom", tr("killed by {signal}, likely out of memory ({evidence})",
                               signal=signal_name(sig), evidence=oom))
    if sig is not None:
        return Cause("signal", tr("killed by {signal}", signal=signal_name(sig)))
    if ev.status is not None:
        return Cause("exit", tr("exited with code {code}", code=ev.status))
    return Cause("unknown", "")


def human_bytes(size: float) -> str:
    """``512 B``, ``3.2 MiB``, ``10.1 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
