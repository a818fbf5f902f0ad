"""Resources: peak memory, GPU peaks, memory limits, and the cause of a death from its evidence."""

from __future__ import annotations

import importlib.util
import signal
import sys
import textwrap
from dataclasses import replace

import pytest

from wxnotify_magic import resources
from wxnotify_magic.message import Notification, render
from wxnotify_magic.resources import Evidence, death_cause, human_bytes

GiB = 1 << 30
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.mark.parametrize("evidence,kind,words", [
    (Evidence(status=-signal.SIGKILL, oom_kills=(0, 1)), "oom",
     "killed by SIGKILL, likely out of memory (the out-of-memory killer acted in the memory cgroup)"),
    (Evidence(status=-signal.SIGKILL, peak_rss=int(1.9 * GiB), cgroup_limit=2 * GiB), "oom",
     "killed by SIGKILL, likely out of memory (memory reached 95% of its 2.0 GiB limit)"),
    (Evidence(status=-signal.SIGABRT, peak_vm=int(3.8 * GiB), as_limit=4 * GiB), "oom",
     "killed by SIGABRT, likely out of memory (address space reached 95% of its 4.0 GiB limit (ulimit -v))"),
    (Evidence(status=None, system_oom_kills=(3, 4), peak_rss=10 * GiB, mem_total=24 * GiB), "oom",
     "likely out of memory (the system's out-of-memory killer acted)"),
    # another process's OOM kill on a shared machine is not this small job's cause
    (Evidence(status=-signal.SIGKILL, system_oom_kills=(3, 4), peak_rss=GiB, mem_total=24 * GiB), "signal",
     "killed by SIGKILL"),
    (Evidence(status=-signal.SIGKILL, oom_kills=(2, 2), peak_rss=GiB, cgroup_limit=4 * GiB), "signal",
     "killed by SIGKILL"),
    (Evidence(status=-signal.SIGSEGV, oom_kills=(0, 1)), "signal", "killed by SIGSEGV"),  # a crash is a crash
    (Evidence(status=-signal.SIGKILL, request="restart", oom_kills=(0, 1)), "restart",
     "a restart was requested while it ran"),
    (Evidence(status=-signal.SIGTERM, request="shutdown"), "shutdown", "a shutdown was requested while it ran"),
    (Evidence(status=3), "exit", "exited with code 3"),
    (Evidence(), "unknown", ""),
])
def test_death_cause_from_evidence(evidence, kind, words):
    cause = death_cause(evidence)
    assert (cause.kind, cause.text) == (kind, words)


def test_death_cause_speaks_chinese():
    from wxnotify_magic.i18n import set_language

    set_language("zh")
    try:
        text = death_cause(Evidence(status=-signal.SIGKILL, oom_kills=(0, 1))).text
    finally:
        set_language("auto")
    assert "SIGKILL" in text and "内存" in text


def test_human_bytes():
    assert [human_bytes(n) for n in (512, 3 * 1024 * 1024 + 300_000, 10.1 * GiB)] == ["512 B", "3.3 MiB", "10.1 GiB"]


def test_a_death_shows_its_cause_on_the_card_and_peaks_as_facts():
    n = Notification(status="died", title="train", started=0.0, ended=11520.0, execution_count=7,
                     peak_memory=int(3.2 * GiB), gpu_peaks={"1": 2 * GiB, "0": int(10.1 * GiB)},
                     cause="killed by SIGKILL, likely out of memory (the out-of-memory killer acted)")
    assert n.summary == ("💀 train died · 3h 12m · killed by SIGKILL, likely out of memory "
                         "(the out-of-memory killer acted)")
    text = render(n, "text", with_title=False)
    assert text.startswith("killed by SIGKILL, likely out of memory")  # leads the body, as an exception line does
    assert "Peak memory: 3.2 GiB" in text
    assert text.index("GPU 0 peak: 10.1 GiB") < text.index("GPU 1 peak: 2.0 GiB")
    zh = render(replace(n, lang="zh"), "text")
    assert "内存峰值：3.2 GiB" in zh and "已崩溃" in zh
    assert Notification.from_dict(n.to_dict()) == n  # survives the outbox and the pipe (JSON)


@linux_only
def test_peak_meter_sees_a_jobs_peak_and_nested_jobs_keep_theirs():
    outer = resources.PeakMeter().start()
    inner = resources.PeakMeter().start()
    block = bytearray(150 << 20)  # zero-filled: resident
    del block
    inner_peak = inner.stop()
    later = resources.PeakMeter().start()  # resets the high-water mark: the outer job must keep its peak
    assert later.stop() < inner_peak - (100 << 20)
    assert inner_peak >= 150 << 20 and outer.stop() >= inner_peak


@linux_only
def test_this_machines_memory_cgroup_and_counters_are_read():
    group = resources.memory_cgroup()
    baseline = resources.oom_baseline()
    if group is None:
        pytest.skip("no memory cgroup visible")
    assert group.version in (1, 2) and group.oom_kills() == baseline["oom_kills"] is not None
    assert resources.system_oom_kills() is not None
    limit = group.limit()
    assert limit is None or limit > 0


def test_gpu_peaks_through_nvml(tmp_path, monkeypatch):
    """With NVML importable, the process's own use per device; without its pid listed, the device's use."""
    (tmp_path / "pynvml.py").write_text(textwrap.dedent("""
        import os
        from types import SimpleNamespace as NS
        USED = {0: [1 << 30, 3 << 30], 1: [5 << 30]}
        def nvmlInit(): pass
        def nvmlDeviceGetCount(): return 2
        def nvmlDeviceGetHandleByIndex(i): return i
        def nvmlDeviceGetComputeRunningProcesses(h):
            pid = os.getpid() if h == 0 else 1
            return [NS(pid=pid, usedGpuMemory=USED[h].pop(0) if len(USED[h]) > 1 else USED[h][0])]
        def nvmlDeviceGetMemoryInfo(h): return NS(used=7 << 30)
    """))
    spec = importlib.util.spec_from_file_location("pynvml", tmp_path / "pynvml.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "pynvml", module)  # gone again after the test
    monkeypatch.setattr(resources.GpuMeter, "_handles", None)
    monkeypatch.setattr(resources.GpuMeter, "_nvml", None)
    meter = resources.GpuMeter()
    meter.sample()
    assert meter.sample() == {"0": 3 << 30}  # our own use only, its peak; device 1 is another process's
    other = resources.GpuMeter(pid=999_999)  # e.g. a PID namespace hides us: fall back to the devices' use
    assert other.sample() == {"0": 7 << 30, "1": 7 << 30}


def test_no_nvml_means_no_gpu_figures(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails as without nvidia-ml-py
    monkeypatch.setattr(resources.GpuMeter, "_handles", None)
    assert resources.GpuMeter().sample() == {}
