"""``%load_ext`` registers light stand-ins; the first use builds the rest. Whatever the first use is (threads
calling the API, a cell run by another cell), the extension then behaves as if it had all been built at load."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import WECOM_KEY, fact, settled

from wxnotify_magic.inbox import Inbox


def ours(callbacks: list[Any]) -> list[Any]:
    return [cb for cb in callbacks if "wxnotify" in getattr(cb, "__module__", "")]


def test_threads_calling_the_api_first_build_the_machinery_once(ip: Any, inbox: Inbox, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the cell names no wxnotify: the first use comes from four threads of a module it imports
    (tmp_path / "reports.py").write_text(
        "from concurrent.futures import ThreadPoolExecutor\nfrom wxnotify_magic import send\n\n"
        "def report_all(names):\n    with ThreadPoolExecutor(4) as pool:\n"
        "        return [r.ok for r in pool.map(lambda n: send(n, wait=10), names)]\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    ip.run_cell("import reports\nsent = reports.report_all('abcd')").raise_error()
    assert ip.user_ns["sent"] == [True] * 4
    assert len(ours(ip.events.callbacks["post_run_cell"])) == 1
    inbox.clear()
    ip.run_cell(f"%%wxnotify -t watched --to wecombot://{WECOM_KEY}\npass").raise_error()  # a free lane
    contents = [m["content"] for m in settled(inbox)]
    assert len(contents) == 1 and "watched finished" in contents[0] and "cells" not in contents[0], contents


def in_fresh_shell(home: Path, inbox: Inbox, cells: str) -> list[dict]:
    """Run ``cells`` (code using ``ip``) in a fresh interpreter's IPython shell; the inbox's messages after."""
    code = "from IPython.testing.globalipapp import start_ipython\nip = start_ipython()\n" + textwrap.dedent(cells)
    code += "\nip.run_cell('%wxnotify wait 10')\n"
    env = {**os.environ, "WXNOTIFY_HOME": str(home), "WXNOTIFY_API_BASE": inbox.url, "IPYTHONDIR": str(home / "ipy")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return inbox.wait_for(1)


def test_the_hooks_keep_the_place_the_load_gave_them(home: Path, inbox: Inbox) -> None:
    # an extension loaded after wxnotify prints in post_run_cell (as autotime does): not part of the cell
    content = in_fresh_shell(home, inbox, """
        ip.run_cell("%load_ext wxnotify_magic")
        ip.events.register("post_run_cell", lambda result: print("time: 1.2 s"))
        ip.run_cell("%%wxnotify -t placed\\nprint('body')")
    """)[0]["content"]
    assert "body" in content and "time: 1.2 s" not in content, content


def test_a_cell_run_by_another_cell_as_the_first_use_belongs_to_it(home: Path, inbox: Inbox) -> None:
    # the outer cell (number 2) names no wxnotify: the hooks are built inside it, by the cell it runs
    message = in_fresh_shell(home, inbox, """
        ip.run_cell("%load_ext wxnotify_magic", store_history=True)
        ip.run_cell("src = '%%' + 'wx' + 'notify -t nested\\\\nprint(1)'\\nget_ipython().run_cell(src)",
                    store_history=True)
    """)[0]
    assert "nested finished" in message["title"] and fact(message["content"], "Cell") == "[2]", message


def test_load_use_unload_leaves_nothing_behind(shell: Any, home: Path) -> None:
    shell.run_line_magic("load_ext", "wxnotify_magic")
    shell.run_cell("%wxnotify status").raise_error()
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    assert not [c for c in shell.configurables if type(c).__module__.startswith("wxnotify_magic")]
    user_magics = shell.magics_manager.user_magics
    assert not hasattr(user_magics, "wxnotify") and not hasattr(user_magics, "wxsend")
    assert not ours(shell.events.callbacks["pre_run_cell"]) and not ours(shell.events.callbacks["post_run_cell"])


def test_unloaded_before_the_resume_leaves_the_outbox_to_the_next_load(shell: Any, home: Path, inbox: Inbox) -> None:
    """What an earlier session left in the outbox is resumed a moment after loading; unloaded before that moment,
    the extension leaves it for the next load instead of sending from a shell it was removed from."""
    from test_outbox_faults import outbox_with_items

    home.mkdir(parents=True, exist_ok=True)
    outbox_with_items(home / "outbox.sqlite3", 2)
    shell.run_line_magic("load_ext", "wxnotify_magic")
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    time.sleep(1.0)  # five times the resume's delay
    assert inbox.messages == []
    shell.run_line_magic("load_ext", "wxnotify_magic")
    try:
        assert len(inbox.wait_for(2, timeout=15)) == 2
    finally:
        shell.run_line_magic("unload_ext", "wxnotify_magic")


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.005, 0.01])
def test_unloading_while_a_thread_builds_leaves_nothing_behind(shell: Any, home: Path, delay: float) -> None:
    from wxnotify_magic import session

    shell.run_line_magic("load_ext", "wxnotify_magic")
    first_use = threading.Thread(target=session.current)
    first_use.start()
    time.sleep(delay)
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    first_use.join(10)
    assert "wxnotify" not in shell.magics_manager.magics["line"] and session.attached(shell) is None
    assert "WxNotifyMagics" not in shell.magics_manager.registry
    assert not [c for c in shell.configurables if type(c).__module__.startswith("wxnotify_magic")]
    shell.run_line_magic("load_ext", "wxnotify_magic")  # loaded again, it is the new settings that count
    try:
        shell.run_line_magic("config", "WxNotify.wait = 7")
        assert session.current().settings.wait == 7
    finally:
        shell.run_line_magic("unload_ext", "wxnotify_magic")
        shell.config.pop("WxNotify", None)


def test_unloading_or_exiting_as_the_outbox_resume_starts(home: Path) -> None:
    """The resume imports the sending engine in a thread 0.2 s after loading: an unload or an exit in the middle
    of that import waits for it, and says nothing."""
    env = {**os.environ, "WXNOTIFY_HOME": str(home), "IPYTHONDIR": str(home / "ipy")}
    subprocess.run([sys.executable, "-c", "from wxnotify_magic import delivery; delivery.get_sender()"], env=env,
                   check=True, timeout=60)  # an outbox from an earlier session, nothing pending
    for delay in (0.21, 0.23, 0.25, 0.3):
        for unload in (True, False):
            code = ("import time\nfrom IPython.testing.globalipapp import start_ipython\nip = start_ipython()\n"
                    f"ip.run_line_magic('load_ext', 'wxnotify_magic')\ntime.sleep({delay})\n"
                    + ("ip.run_line_magic('unload_ext', 'wxnotify_magic')\n" if unload else ""))
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0 and "Error" not in out.stderr, (delay, unload, out.stderr)


def test_an_unload_as_the_resume_runs_leaves_no_sender_behind(tmp_path: Path, inbox: Inbox) -> None:
    """A resume under way when the extension is unloaded finishes first; the unload then stops the sender it
    started, as it stops its own."""
    from test_outbox_faults import outbox_with_items

    for delay in (0.2, 0.22, 0.25):
        home = tmp_path / f"home-{delay}"
        home.mkdir()
        outbox_with_items(home / "outbox.sqlite3", 1)
        env = {**os.environ, "WXNOTIFY_HOME": str(home), "IPYTHONDIR": str(tmp_path / "ipy"),
               "WXNOTIFY_API_BASE": inbox.url}
        code = textwrap.dedent(f"""
            import threading, time
            from IPython.testing.globalipapp import start_ipython
            ip = start_ipython()
            ip.run_line_magic("load_ext", "wxnotify_magic")
            time.sleep({delay})
            ip.run_line_magic("unload_ext", "wxnotify_magic")
            time.sleep(1.0)
            print(sorted(t.name for t in threading.enumerate() if t.name in ("wxnotify-sender", "wxnotify-send")))
        """)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip().splitlines()[-1] == "[]", (delay, out.stdout, out.stderr)


def test_a_first_use_from_a_thread_inside_a_cell_keeps_a_live_plots_last_frame(inbox: Inbox, tmp_path: Path) -> None:
    """The receipts follow ``clear_output(wait=True)`` through the kernel's display hook, which is kept per thread:
    it is set up on the thread that runs cells, even when the first use comes from another thread."""
    from kernel import displays, kernel_with_extension
    from test_guest import LIVE_PLOT

    with kernel_with_extension(inbox, tmp_path) as kernel:
        kernel.run("import importlib, threading\nsession = importlib.import_module('wx' + 'notify_magic.session')\n"
                   "builder = threading.Thread(target=session.current)\nbuilder.start(); builder.join()")
        alone = kernel.run(LIVE_PLOT)
        cell = kernel.run("%%wxnotify --quiet -t live-plot\n" + LIVE_PLOT)
        assert displays(alone) == ["'frame 2'"] and displays(cell) == displays(alone)
