"""wxnotify as a guest in the user's shell: it leaves IPython's behaviour as it was (cells run without
post_run_cell, terminal receipts, completeness checks, tracebacks)."""

from __future__ import annotations

import time

import pytest
from conftest import settled


def _run_async_only(ip, raw: str):  # type: ignore[no-untyped-def]
    """Run a cell as some front ends and tools do: ``run_cell_async`` alone, so no ``post_run_cell``."""
    return ip.loop_runner(ip.run_cell_async(raw, store_history=True, transformed_cell=ip.transform_cell(raw)))


def test_a_cell_without_post_run_cell_leaves_every_later_cell_clean(ip, inbox):
    from wxnotify_magic import monitor

    ip.run_cell("%wxnotify auto on --after 0").raise_error()
    _run_async_only(ip, "first = 1")
    deadline = time.monotonic() + 5
    while monitor._sampler._monitors and time.monotonic() < deadline:  # the monitor sees the cell has ended
        time.sleep(0.05)
    assert monitor._sampler._monitors == [], "the monitor kept sampling a cell that had ended"
    ip.run_cell("second = 2").raise_error()
    ip.run_cell("third = 3").raise_error()
    titles = [m["title"] for m in settled(inbox)]
    assert len(titles) == 3, titles  # the unannounced cell, then auto mode notifies again for each cell
    assert monitor._sampler._monitors == []


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-1"])
def test_every_front_checks_a_wait_in_one_line(home, value):
    from test_cli import wxnotify

    for command in (["send", "--wait", value, "hi"], ["retry", "--wait", value]):
        proc = wxnotify(*command)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].endswith("--wait must be between 0 and 600 seconds")


@pytest.mark.parametrize("cell", ["%wxnotify history -5", "%wxnotify history 99999999999999999999999",
                                  "%%wxnotify --tail 99999999999999999999999\nx = 1", "%wxnotify wait 1e400"])
def test_every_magic_checks_its_numbers_in_one_line(ip, inbox, cell, capsys):
    result = ip.run_cell(cell)
    err = capsys.readouterr().err
    assert type(result.error_in_exec).__name__ == "UsageError", err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert inbox.messages == []


def test_a_terminal_waits_for_the_body_of_a_wxnotify_cell(ip, inbox):
    """``%%wxnotify -t x`` + Enter: IPython's completeness check says incomplete, as for any cell magic."""
    assert ip.check_complete("%%time\n")[0] == "incomplete"
    assert ip.check_complete("%%wxnotify -t x\n")[0] == "incomplete"
    assert ip.check_complete("%%wxnotify -t x\nprint(1)\n")[0] == "incomplete"
    assert ip.check_complete("%%wxnotify -t x\nprint(1)\n\n")[0] == "complete"
    assert inbox.messages == []
