"""CPU cost of the per-job monitor thread over a long watched cell, and of its watchdog process.

``python benchmarks/monitor_cpu.py [SECONDS [print|sleep]]`` runs, in a real IPython shell, a cell of that
length (default 60 s) that prints a line every 5 ms and a ``\\r`` progress bar (or just sleeps), with the
watchdog armed and ``--stall 30m``. The monitor thread measures its own CPU time (``time.thread_time``); the
watchdog's comes from /proc. It also times 300 trivial watched cells with the watchdog on and off (median).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

HOME = tempfile.mkdtemp(prefix="wxnotify-bench-monitor-")
os.environ.update({"WXNOTIFY_HOME": HOME, "IPYTHONDIR": os.path.join(HOME, "ipython"),
                   "WXNOTIFY_TO": "wxpusher://AT_test_bench_token/UID_test_bench"})

from IPython.testing.globalipapp import start_ipython  # noqa: E402

from wxnotify_magic import monitor, watchdog  # noqa: E402
from wxnotify_magic.inbox import Inbox  # noqa: E402


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    mode = sys.argv[2] if len(sys.argv) > 2 else "print"
    monitors: list[monitor.Monitor] = []
    original = monitor.start

    def keep(watch):  # type: ignore[no-untyped-def]
        m = original(watch)
        monitors.append(m)  # type: ignore[arg-type]
        return m

    monitor.start = keep  # type: ignore[assignment]
    with Inbox() as inbox:
        os.environ["WXNOTIFY_API_BASE"] = inbox.url
        ip = start_ipython()
        ip.run_line_magic("load_ext", "wxnotify_magic")
        cell = (f"%%wxnotify --quiet --stall 30m -t bench\nimport time, sys\nend = time.time() + {seconds}\ni = 0\n"
                "while time.time() < end:\n    i += 1\n    print(f'step {i} loss {1 / i:.4f}')\n"
                "    sys.stdout.write(f'\\rprogress {i % 100}%')\n    time.sleep(0.005)\n")
        if mode == "sleep":
            cell = f"%%wxnotify --quiet --stall 30m -t bench\nimport time\ntime.sleep({seconds})\n"
        wall = time.perf_counter()
        process = time.process_time()
        ip.run_cell(cell)
        wall, process = time.perf_counter() - wall, time.process_time() - process
        pid = watchdog.client().pid
        dog = proc_cpu(pid) if pid else float("nan")
        mon = monitors[-1]
        overhead = {}
        for on in (True, False, True, False):
            ip.run_line_magic("config", f"WxNotify.watchdog = {on}")
            times = []
            for _ in range(150):
                t = time.perf_counter()
                ip.run_cell("%%wxnotify --after 1h --quiet\nx = 1")
                times.append(time.perf_counter() - t)
            overhead.setdefault(on, []).extend(times)
        ip.run_line_magic("unload_ext", "wxnotify_magic")
    result = {"cell_seconds": round(wall, 1), "monitor_cpu_seconds": round(mon.cpu_seconds, 4),
              "monitor_cpu_percent": round(100 * mon.cpu_seconds / wall, 4),
              "watchdog_cpu_seconds": round(dog, 3), "process_cpu_seconds": round(process, 1),
              "trivial_cell_us_watchdog_on": round(1e6 * statistics.median(overhead[True])),
              "trivial_cell_us_watchdog_off": round(1e6 * statistics.median(overhead[False]))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
