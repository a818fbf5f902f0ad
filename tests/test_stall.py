"""The stall alarm and peak memory, as users meet them: a real shell, notify() and `wxnotify run`.

Jobs here wait for the inbox (not for the clock) while they are silent, so each silence lasts exactly until
its alarm has arrived: no fixed sleeps, and a second alarm for the same silence would be counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import WECOM_KEY, assert_no_secret, fact

from wxnotify_magic import delivery

WECOM = f"wecombot://{WECOM_KEY}"


def kinds() -> list[str]:
    """What was handed to the outbox, oldest first: the record of every message submitted."""
    return [item.kind for item in reversed(delivery.get_sender().outbox.items(limit=100))]


def test_one_stall_message_per_silence_and_another_after_output_resumes(ip, inbox):
    ip.user_ns["inbox"] = inbox
    ip.run_cell(f"%%wxnotify -t 'stuck loader' --stall 0.3s --to {WECOM}\n"
                "print('epoch 1 loss 0.50')\n"
                "inbox.wait_for(1, timeout=30)  # silent until the first alarm arrived\n"
                "print('epoch 2 loss 0.40')\n"
                "inbox.wait_for(2, timeout=30)\n").raise_error()
    msgs = inbox.wait_for(3)
    stalls = [m["content"] for m in msgs if m["content"].removeprefix("### ").startswith("⚠️ stuck loader stalled")]
    assert len(stalls) == 2 and msgs[2]["content"].removeprefix("### ").startswith("✅ stuck loader finished")
    assert "no output for 0.3" in stalls[0] and "running" not in stalls[0]  # the card says how long it ran
    assert "last line: epoch 1 loss 0.50" in stalls[0] and "last line: epoch 2 loss 0.40" in stalls[1]
    assert kinds() == ["stall", "stall", "final"]  # nothing more was even queued


def test_a_cell_that_keeps_printing_never_stalls(ip, inbox):
    ip.run_cell(f"%%wxnotify --stall 0.4s --to {WECOM}\nimport time\n"
                "for i in range(12):\n    print('step', i)\n    time.sleep(0.1)").raise_error()
    inbox.wait_for(1)
    assert kinds() == ["final"]


def test_stall_from_the_settings_and_a_bad_value(ip, inbox):
    ip.user_ns["inbox"] = inbox
    ip.run_cell("%config WxNotify.stall = '0.3s'").raise_error()
    ip.run_cell(f"%%wxnotify --to {WECOM}\nprint('waiting')\ninbox.wait_for(1, timeout=30)").raise_error()
    assert kinds() == ["stall", "final"]
    res = ip.run_cell("%%wxnotify --stall soon\nprint('never runs')")
    assert "not a duration: 'soon'" in str(res.error_in_exec)
    res = ip.run_cell("%%wxnotify --stall 0\nprint('never runs')")
    assert "--stall must be a positive duration" in str(res.error_in_exec)


def test_auto_mode_cells_get_the_stall_alarm(ip, inbox):
    ip.user_ns["inbox"] = inbox
    ip.run_cell("%config WxNotify.stall = 0.3").raise_error()
    ip.run_cell(f"%wxnotify auto on --after 0 --to {WECOM}").raise_error()
    ip.run_cell("print('auto cell')\ninbox.wait_for(1, timeout=30)").raise_error()
    msgs = inbox.wait_for(2)
    assert "stalled" in msgs[0]["content"] and "last line: auto cell" in msgs[0]["content"]


def test_notify_stall_in_a_script(home, inbox, capsys):
    from wxnotify_magic import notify

    with notify("nightly etl", to=WECOM, stall="0.3s"):
        print("extracting")
        inbox.wait_for(1, timeout=30)
    msgs = inbox.wait_for(2)
    assert "nightly etl stalled" in msgs[0]["content"] and "last line: extracting" in msgs[0]["content"]
    with pytest.raises(ValueError, match="stall must be a positive duration"):
        notify(stall=0)


def test_wxnotify_run_stall(home, inbox):
    # the stall (2 s) must outlast the command's start on a loaded machine: its alarm quotes the first line
    waiter = textwrap.dedent(f"""
        import json, time, urllib.request
        print("downloading shard 7", flush=True)
        deadline = time.time() + 30
        while time.time() < deadline:  # silent until the alarm reached the inbox
            with urllib.request.urlopen("{inbox.url}/_inbox/messages") as r:
                if json.load(r):
                    break
            time.sleep(0.05)
    """)
    proc = subprocess.run([sys.executable, "-m", "wxnotify_magic.cli", "run", "-t", "fetch", "--stall", "2s",
                           "--to", WECOM, "--", sys.executable, "-c", waiter],
                          capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)
    msgs = inbox.wait_for(2)
    assert "fetch stalled" in msgs[0]["content"] and "last line: downloading shard 7" in msgs[0]["content"]
    assert "fetch finished" in msgs[1]["content"]


def test_the_final_message_carries_the_cells_peak_memory(ip, inbox):
    ip.run_cell(f"%%wxnotify -t 'big alloc' --to {WECOM}\nblock = bytearray(200 << 20)\ndel block").raise_error()
    number, unit = fact(inbox.wait_for(1)[0]["content"], "Peak memory").split()
    assert unit in ("MiB", "GiB") and (float(number) >= 200 if unit == "MiB" else float(number) >= 0.2)


def test_a_peak_before_the_first_sample_is_kept(ip, inbox):
    # the meter starts with the sampler's first look (a quarter second in), after this block came and went
    ip.run_cell(f"%%wxnotify -t 'early alloc' --to {WECOM}\nimport time\nblock = bytearray(200 << 20)\n"
                "del block\ntime.sleep(0.8)").raise_error()
    number, unit = fact(inbox.wait_for(1)[0]["content"], "Peak memory").split()
    assert unit in ("MiB", "GiB") and (float(number) >= 200 if unit == "MiB" else float(number) >= 0.2)


def test_wxnotify_run_reports_the_commands_peak_not_its_own(home, inbox):
    cmd = [sys.executable, "-c", "block = bytearray(300 << 20)"]
    proc = subprocess.run([sys.executable, "-m", "wxnotify_magic.cli", "run", "--to", WECOM, "--", *cmd],
                          capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    peak = fact(inbox.wait_for(1)[0]["content"], "Peak memory")
    assert peak.endswith("MiB") and float(peak.split()[0]) >= 300


# -- in a real kernel: progress a notebook shows without printing ------------------------------------------


@pytest.mark.parametrize("progress", [
    "from tqdm.auto import tqdm\nfor i in tqdm(range(25), mininterval=0):\n    time.sleep(0.1)",  # a widget bar
    "h = display('step 0', display_id=True)\nfor i in range(25):\n    time.sleep(0.1)\n"
    "    h.update(f'step {i}')",  # a display updated in place
])
def test_progress_shown_in_a_notebook_is_not_a_stall(inbox, tmp_path, progress):
    pytest.importorskip("tqdm")
    from kernel import errors, kernel_with_extension, text

    with kernel_with_extension(inbox, tmp_path) as kernel:
        cell = kernel.run(f"%%wxnotify -t bar --stall 0.8s --to {WECOM}\nimport time\n{progress}")
        assert not errors(cell), text(cell)
        kernel.run("%wxnotify wait 30")
    contents = [m["content"] for m in inbox.messages if m["service"] == "wecombot"]
    assert not [c for c in contents if "stalled" in c], contents  # the bar advanced all along
    assert any("bar finished" in c for c in contents), contents
