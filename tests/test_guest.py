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
    settled(inbox)
    from wxnotify_magic import delivery

    queued = delivery.get_sender().outbox.items()  # (queued together, some may go out merged into one message)
    assert len(queued) == 3, queued  # the unannounced cell, then auto mode notifies again for each cell
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


def test_a_terminal_cell_keeps_its_receipt_out_of_its_output(ip, inbox, capsys):
    """The receipt is not the cell's output: not in capture_output, not in IPython's history of outputs."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        ip.run_cell("%%wxnotify -t own\nprint('the cell says this')", store_history=True).raise_error()
    count = ip.execution_count - 1
    assert captured.stdout == "the cell says this\n" and captured.stderr == ""
    history = getattr(ip.history_manager, "outputs", {}).get(count, [])
    assert "wxnotify" not in repr(history)
    assert len(settled(inbox)) == 1
    ip.run_cell("%wxnotify wait 10").raise_error()  # the settled receipt is printed here, outside any cell
    assert "wxnotify: sent via WxPusher" in capsys.readouterr().out


def test_terminal_cells_do_not_wait_on_delivery(ip, inbox, capsys):
    """Auto-mode cells while the service takes 1.5 s per message (less than WxNotify.wait): each cell returns
    before its message is delivered; ``%wxnotify wait`` then finds them still sending."""
    inbox.add_fault("delay", seconds=1.5, count=10)
    ip.run_cell("%wxnotify auto on --after 0").raise_error()
    for i in range(3):
        ip.run_cell(f"x = {i}").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify wait 0").raise_error()
    assert "still sending" in capsys.readouterr().out
    ip.run_cell("%wxnotify wait 30").raise_error()
    out = capsys.readouterr().out
    assert out.count("wxnotify: sent via") >= 1 and "still sending" not in out


def test_ctrl_c_during_wxnotify_wait_shows_no_wxnotify_frame(ip, inbox, capsys):
    import _thread
    import threading

    inbox.add_fault("delay", seconds=3.0)
    ip.run_cell("%wxsend hello").raise_error()
    capsys.readouterr()
    threading.Timer(0.5, _thread.interrupt_main).start()  # Ctrl-C, as the main thread sees it
    ip.run_cell("%wxnotify wait 30").raise_error()  # Ctrl-C stops the wait, as it stops any receipt wait
    shown = capsys.readouterr()
    assert "stopped waiting (Ctrl-C)" in shown.out and "still sending" in shown.out
    text = shown.out + shown.err
    assert "Traceback" not in text and "wxnotify_magic" not in text and "threading.py" not in text


def test_run_of_a_notebook_with_a_failing_wxnotify_cell_shows_no_wxnotify_frame(ip, inbox, tmp_path, capsys):
    import nbformat

    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "%%wxnotify -t x\nprint('before')\n1/0")]), str(path))
    ip.run_cell(f"%run {path}")
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "ZeroDivisionError" in text and "1/0" in text  # the user's line, as IPython shows it
    assert "magics.py" not in text and "wxnotify_magic" not in text and "<wxnotify cell>" not in text


LIVE_PLOT = ("from IPython.display import display, clear_output\n"
             "for i in range(3):\n"
             "    display(f'frame {i}')\n"
             "    clear_output(wait=True)\n")


@pytest.mark.parametrize("head", ["%%wxnotify -t live-plot\n", "%%wxnotify --quiet -t live-plot\n", ""])
def test_a_live_plot_keeps_its_last_frame(inbox, tmp_path, head):
    """``display(fig); clear_output(wait=True)`` in a loop: the cell ends showing its last frame, as alone."""
    from kernel import displays, kernel_with_extension

    with kernel_with_extension(inbox, tmp_path) as kernel:
        alone = kernel.run(LIVE_PLOT)
        assert displays(alone) == ["'frame 2'"]
        if head:
            kernel.run("%wxnotify auto off")
        else:
            kernel.run("%wxnotify auto on --after 0")
        cell = kernel.run(head + LIVE_PLOT)
        assert displays(cell) == displays(alone)


def test_a_real_terminal_waits_for_the_body_and_prints_the_receipt_outside_the_cell(home, inbox, tmp_path):
    """Terminal IPython in a pty: ``%%wxnotify -t pty`` + Enter waits for the body; the receipt comes after the
    cell, before or above the next prompt."""
    import os
    import sys

    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"), "TERM": "xterm"}
    child = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--colors=NoColor", "--no-confirm-exit"],
                          env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    try:
        child.expect(r"In \[1\]")
        child.sendline("%load_ext wxnotify_magic")
        child.expect(r"In \[2\]")
        child.sendline("%%wxnotify -t pty")
        child.expect(r"\.\.\.:")  # the continuation prompt: IPython waits for the body
        assert inbox.messages == []
        child.sendline("print('body ran')")
        child.sendline("")
        child.sendline("")  # blank lines end a cell magic, as for %%time
        child.expect("body ran")
        child.expect("wxnotify: sent via WxPusher")
        assert [m["title"].split(" · ")[0] for m in inbox.messages] == ["✅ pty finished"]
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
