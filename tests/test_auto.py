"""Auto mode, the Run All digest and progress pings, in a real shell and in a real kernel."""

from __future__ import annotations

import re

import pytest
from conftest import WECOM_KEY, outbox_statuses, settled
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook


def test_auto_notifies_long_and_failed_cells_only(ip, inbox, capsys):
    ip.run_cell("%wxnotify auto on --after 0.3s").raise_error()
    assert "auto mode on" in capsys.readouterr().out
    ip.run_cell("quick = 1").raise_error()
    ip.run_cell("import time\ntime.sleep(0.35)\nprint('slow cell done')").raise_error()
    inbox.wait_for(1)  # a terminal's back-to-back cells go out merged: let the first go before the next cell
    ip.run_cell("1/0")
    msgs = inbox.wait_for(2)
    assert "slow cell done" in msgs[0]["content"] and "finished" in msgs[0]["title"]
    assert "ZeroDivisionError" in msgs[1]["content"]
    assert len(settled(inbox)) == 2


def test_auto_does_not_notify_twice_for_a_wxnotify_cell(ip, inbox):
    ip.run_cell("%wxnotify auto on --after 0").raise_error()
    ip.run_cell("%%wxnotify -t explicit\nx = 1").raise_error()
    assert [re.sub(r" · [\d.]+ s$", " · T", m["title"]) for m in settled(inbox)] == ["✅ explicit finished · T"]


def test_auto_off_stops_it(ip, inbox, capsys):
    ip.run_cell("%wxnotify auto on --after 0").raise_error()
    ip.run_cell("%wxnotify auto off").raise_error()
    assert "auto mode off" in capsys.readouterr().out
    settled(inbox)  # the cells' own notifications, which go out after them
    inbox.clear()
    ip.run_cell("1/0")
    assert settled(inbox) == []


def test_auto_from_settings_at_load(shell, home, inbox, capsys):
    shell.config.WxNotify.auto = True
    shell.config.WxNotify.after = 0
    shell.run_line_magic("load_ext", "wxnotify_magic")
    try:
        assert "auto mode on" in capsys.readouterr().out
        shell.run_cell("print('auto from settings')").raise_error()
        assert "auto from settings" in inbox.wait_for(1)[0]["content"]
    finally:
        shell.run_line_magic("unload_ext", "wxnotify_magic")
        shell.config.pop("WxNotify", None)


def test_auto_bad_destination_is_a_usage_error(ip, inbox):
    res = ip.run_cell("%wxnotify auto on --to nowhere")
    assert "unknown destination name 'nowhere'" in str(res.error_in_exec)
    res = ip.run_cell("%wxnotify auto sideways")
    assert "invalid choice" in str(res.error_in_exec)


def test_batch_gathers_back_to_back_cells_into_one_digest(ip, inbox):
    ip.run_cell("%wxnotify auto on --batch --after 0 --settle 0.3").raise_error()
    for i in range(3):
        ip.run_cell(f"print('cell {i} output')").raise_error()
    (msg,) = inbox.wait_for(1, timeout=5)
    assert "3 cells ran" in msg["content"] and "cell 2 output" in msg["content"]
    assert len(settled(inbox)) == 1


def test_batch_reports_the_first_failure(ip, inbox):
    ip.run_cell("%wxnotify auto on --batch --after 1h --settle 0.3").raise_error()
    ip.run_cell("a = 1").raise_error()
    ip.run_cell("raise ValueError('first')")
    ip.run_cell("raise KeyError('second')")
    (msg,) = inbox.wait_for(1, timeout=5)
    content = msg["content"]
    traceback_section = content.split("**Traceback**")[1].split("**Last output**")[0]
    assert "failed" in msg["title"] and "ValueError: first" in traceback_section and "KeyError" not in traceback_section


def test_progress_pings_while_the_cell_runs(ip, inbox):
    ip.run_cell(f"%%wxnotify --every 0.25s --to wecombot://{WECOM_KEY}\nimport time\n"
                "for i in range(4):\n    print('step', i)\n    time.sleep(0.2)").raise_error()
    msgs = settled(inbox)
    pings = [m for m in msgs if "still running" in m["content"]]
    finals = [m for m in msgs if "finished" in m["content"]]
    assert pings and len(finals) == 1
    assert "so far" in pings[0]["content"] and "step" in pings[0]["content"]
    assert msgs[-1] is not pings[-1] or len(msgs) == 1 + len(pings)


# -- in a real kernel ----------------------------------------------------------------------------------


def _run_all(cells: list[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()


@pytest.fixture
def kernel_inbox(home, inbox, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return inbox


def test_run_all_in_a_real_kernel_sends_exactly_one_digest(kernel_inbox, home, tmp_path):
    _run_all(["%load_ext wxnotify_magic", "%wxnotify auto on --batch --after 0 --settle 1",
              "import time\ntime.sleep(0.1)\nprint('loaded data')", "model = 'fit'\nprint('trained')",
              "print('evaluated: 0.93')"], tmp_path)
    msgs = kernel_inbox.wait_for(1, timeout=60)  # at the kernel's end the watchdog may be the one that sends it
    assert outbox_statuses(home) == ["delivered"] and len(kernel_inbox.messages) == 1
    assert "cells ran" in msgs[0]["content"] and "evaluated: 0.93" in msgs[0]["content"]


def test_run_all_stopped_by_a_failure_still_sends_its_digest(kernel_inbox, tmp_path):
    with pytest.raises(CellExecutionError):
        _run_all(["%load_ext wxnotify_magic", "%wxnotify auto on --batch --after 1h --settle 1",
                  "print('step one')", "raise RuntimeError('diverged')", "print('never runs')"], tmp_path)
    (msg,) = kernel_inbox.wait_for(1, timeout=60)
    assert "failed" in msg["title"] and "RuntimeError: diverged" in msg["content"]
    assert "never runs" not in msg["content"]


def test_progress_pings_in_a_real_kernel(kernel_inbox, home, tmp_path):
    _run_all(["%load_ext wxnotify_magic",
              f"%%wxnotify -t long --every 0.3s --to wecombot://{WECOM_KEY}\nimport time\n"
              "for i in range(5):\n    print('epoch', i, flush=True)\n    time.sleep(0.2)"], tmp_path)
    assert "pending" not in outbox_statuses(home)
    msgs = kernel_inbox.messages
    pings = [m["content"] for m in msgs if "still running" in m["content"]]
    assert pings and all("so far" in p for p in pings)
    assert any("epoch" in p for p in pings)  # the latest output line, read live from the kernel
    assert sum("long finished" in m["content"] for m in msgs) == 1
