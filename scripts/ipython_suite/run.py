"""`make test-ipython`: IPython's own test suite, without and with wxnotify, must behave the same.

Downloads the sdist of the IPython installed here (``pip download --no-binary :all: --no-deps``), then runs its
test suite twice in this interpreter: once as it is, once with ``%load_ext wxnotify_magic`` and
``%wxnotify auto on --after 0`` in the suite's global test shell (the ``wxnotify_guest`` plugin beside this
file), every notification going to a local inbox emulator on 127.0.0.1. It fails when a test fails only with
wxnotify; it reports (and does not fail on) a run with wxnotify taking more than ``MAX_RATIO`` times as long.

The one documented exception: the doctest of ``%config``, which lists the shell's configurable classes; with
the extension loaded ``WxNotify`` is one of them, on purpose (``%config WxNotify`` shows and sets its settings).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_RATIO = 1.15
# Tests allowed to differ, with the reason (keep this list empty unless the difference is the extension's purpose).
EXCEPTIONS: dict[str, str] = {
    "ConfigMagics.config": "%config lists WxNotify among the configurable classes (its settings are set there)",
}


def sdist(version: str, cache: Path) -> Path:
    """The unpacked sdist of IPython ``version`` under ``cache`` (downloaded once)."""
    tree = cache / f"ipython-{version}"
    if (tree / "tests").is_dir():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--no-binary", ":all:", "--no-deps", f"ipython=={version}", "-d", str(cache)], check=True)
    archive = cache / f"ipython-{version}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    return tree


def outcomes(junit: Path) -> dict[str, str]:
    """Test id -> passed / failed / skipped, from pytest's JUnit XML."""
    result: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        kinds = {child.tag for child in case}
        result[name] = ("failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds
                        else "passed")
    return result


def run_suite(tree: Path, out: Path, guest: bool, env: dict[str, str], extra: list[str]) -> tuple[float, Path]:
    """One run of the suite in ``tree``; returns its wall time and its JUnit XML."""
    shutil.rmtree(tree / "tmp-ipython-pytest-profiledir", ignore_errors=True)  # the suite refuses a leftover one
    junit = out / ("with.xml" if guest else "without.xml")
    log = out / ("with.log" if guest else "without.log")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(junit),
           "-o", "junit_family=xunit1", *(["-p", "wxnotify_guest"] if guest else []), *extra]
    started = time.perf_counter()
    with log.open("w") as sink:
        subprocess.run(cmd, cwd=tree, env=env, stdout=sink, stderr=subprocess.STDOUT, timeout=1800)
    took = time.perf_counter() - started
    print(f"  {'with' if guest else 'without'} wxnotify: {took:.1f} s; {summary_line(log)}  (log: {log})")
    return took, junit


def summary_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else "no output"


def main() -> int:
    import IPython

    from wxnotify_magic.inbox import Inbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".demo/ipython-suite", help="where the sdist and the logs go")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. a test file to run)")
    args = parser.parse_args()
    cache = Path(args.cache).resolve()
    tree = sdist(IPython.__version__, cache)
    out = cache / "results"
    out.mkdir(exist_ok=True)
    print(f"IPython {IPython.__version__}'s own test suite, from its sdist ({tree}):")
    home = Path(tempfile.mkdtemp(prefix="wxnotify-ipython-suite-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("WXNOTIFY_")}
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
    base.pop("IPYTHONDIR", None)
    with Inbox() as inbox:
        guest_env = {**base, "WXNOTIFY_HOME": str(home / "wxhome"), "WXNOTIFY_API_BASE": inbox.url,
                     "WXNOTIFY_TO": "wxpusher://AT_test_ipython_suite_token/UID_test_ipython_suite"}
        plain_time, plain_xml = run_suite(tree, out, False, base, args.pytest_args)
        guest_time, guest_xml = run_suite(tree, out, True, guest_env, args.pytest_args)
        received = len(inbox.messages)
    shutil.rmtree(home, ignore_errors=True)
    plain, guest = outcomes(plain_xml), outcomes(guest_xml)
    only_with = sorted(t for t, o in guest.items() if o == "failed" and plain.get(t) != "failed")
    excused = [t for t in only_with if any(name in t for name in EXCEPTIONS)]
    only_with = [t for t in only_with if t not in excused]
    ratio = guest_time / plain_time if plain_time else float("inf")
    counts = {o: sum(1 for v in guest.values() if v == o) for o in ("passed", "failed", "skipped")}
    print(f"  {len(guest)} tests with wxnotify ({counts}); {received} notifications reached the local inbox")
    print(f"  wall time with/without: {guest_time:.1f} s / {plain_time:.1f} s = {ratio:.2f}x (limit {MAX_RATIO}x)")
    for name in excused:
        print(f"  differs, as documented: {name}")
    ok = True
    if not guest or received == 0:
        print("  FAIL: the run with wxnotify ran no test or sent nothing (the plugin did not take effect)")
        ok = False
    if only_with:
        ok = False
        print(f"  FAIL: {len(only_with)} test(s) fail only with wxnotify:")
        for name in only_with:
            print(f"    {name}")
    if ratio > MAX_RATIO:  # timing is reported, not failed on: one run on a shared machine is too noisy
        print(f"  NOTE: wxnotify slows IPython's suite down {ratio:.2f}x, over the {MAX_RATIO}x goal")
    print("  OK" if ok else "  see the logs above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
