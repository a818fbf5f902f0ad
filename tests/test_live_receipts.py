"""Never slow: in a kernel a cell returns once its notification is in the outbox; its receipt updates in place.

Each test starts its own kernel (the receipts' display ids and pending sends are per kernel).
"""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import WX_TOKEN
from kernel import displays, errors, kernel_with_extension, text, titled, wait_until

SENDING = "wxnotify: sending…"


def _receipt(cell: Any) -> str:
    (shown,) = displays(cell)
    return shown


def test_cell_returns_before_delivery_and_its_receipt_updates_in_place(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        kernel.run("%config WxNotify.wait = 5.0")  # the terminal's bounded wait: not used by a kernel
        inbox.add_fault("delay", seconds=3.0)  # the service answers slowly
        cell = kernel.run("%%wxnotify -t live-slow\nvalue = 7\nvalue")
        assert _receipt(cell) == SENDING  # the cell ended before the service answered
        assert [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"] == ["7"]
        waited = kernel.run("%wxnotify wait 30")
        assert not errors(waited) and "settled" in text(waited), text(waited)
        assert _receipt(cell).startswith("wxnotify: sent via WxPusher")  # updated in place
        titled(inbox, "live-slow")


def test_receipt_settled_while_the_kernel_is_idle_is_recorded_at_the_next_cell(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        cell = kernel.run("%%wxnotify -t live-idle\npass")
        assert _receipt(cell) == SENDING

        def update_published() -> bool:  # the kernel is idle: nobody else reads iopub now
            msg = kernel.iopub()
            return msg is not None and msg["msg_type"] == "update_display_data"

        wait_until(update_published, 30, "the receipt's update while the kernel is idle")
        assert _receipt(cell) == SENDING  # nbclient dropped that update (its parent is the finished cell)
        kernel.run("1 + 1")  # the next cell republishes it under its own parent
        assert _receipt(cell).startswith("wxnotify: sent via WxPusher")


def test_failure_of_a_quiet_cell_still_shows(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        cell = kernel.run("%%wxnotify --quiet --to wxpusher://AT_test_bad_token_000000/UID_test_1\npass")
        assert displays(cell) == [""]  # nothing to read while it is sending
        kernel.run("%wxnotify wait 30")
        shown = _receipt(cell)
        assert shown.startswith("wxnotify: failed") and "code 1001" in shown and "AT_test_bad" not in shown


def test_quota_hold_is_shown_and_wait_does_not_block_on_it(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        kernel.run("%config WxNotify.quotas = {'wxpusher': 1}")
        first = kernel.run("%%wxnotify -t live-quota-1\npass")
        kernel.run("%wxnotify wait 20")  # sent (else the next one could merge into it)
        second = kernel.run("%%wxnotify -t live-quota-2\npass")
        waited = kernel.run("%wxnotify wait 20")
        assert "held" in text(waited), text(waited)
        assert _receipt(first).startswith("wxnotify: sent")
        assert "held" in _receipt(second) and "daily quota of 1" in _receipt(second)
        titled(inbox, "live-quota-1")
        assert not [m for m in inbox.messages if "live-quota-2" in m["title"]]


def test_run_all_burst_is_merged_and_lists_every_cell(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        cells = [kernel.run(f"%%wxnotify --after 0 -t burst-{i}\npass") for i in range(30)]
        failing = kernel.run("%%wxnotify --after 0 -t burst-last\nraise ValueError('diverged at the end')")
        # none of them waited and none printed a status line; back to back, they share a few receipt lines
        assert all(len(displays(c)) <= 1 and not [o for o in c.outputs if o.output_type == "stream"] for c in cells)
        lines = [c for c in cells if displays(c)]
        assert cells[0] in lines and len(lines) <= len(cells) // 2  # how many share one depends on the machine's pace
        kernel.run("%wxnotify wait 60")
        messages = [m for m in inbox.messages if "burst" in m["content"] or "burst" in m["title"]]
        assert len(messages) < 10  # merged, not 31 messages one by one
        everything = "\n".join(m["content"] for m in messages)
        for cell in [*cells, failing]:
            assert f"[{cell.execution_count}]" in everything
        assert "ValueError: diverged at the end" in everything
        receipts = [_receipt(c) for c in [*lines, failing]]
        assert _receipt(failing).startswith("wxnotify: sent")  # a failed cell always shows its own
        covered = {failing.execution_count}
        for receipt in receipts:
            span = re.match(r"wxnotify: (\d+) notifications from cells \[(\d+)\]–\[(\d+)\]: sent", receipt)
            assert span or receipt.startswith("wxnotify: sent"), receipt
            if span:
                covered |= set(range(int(span[2]), int(span[3]) + 1))
        assert covered | {c.execution_count for c in lines} >= {c.execution_count for c in cells}, receipts
        assert any("merged into one" in r for r in receipts)


def test_token_never_in_the_notebook(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        kernel.run(f"%%wxnotify --to wxpusher://{WX_TOKEN}/UID_test_live\npass")
        kernel.run("%wxnotify wait 30")
        assert WX_TOKEN not in json.dumps([c.outputs for c in kernel.nb.cells])


def test_interrupt_during_await_is_reported_as_an_interrupt(inbox, tmp_path):
    with kernel_with_extension(inbox, tmp_path) as kernel:
        msg_id = kernel.client.kc.execute("%%wxnotify -t item9\nimport asyncio\nprint('sleeping', flush=True)\n"
                            "await asyncio.sleep(3)")

        def sleeping() -> bool:
            msg = kernel.iopub()
            return msg is not None and msg["parent_header"].get("msg_id") == msg_id and \
                "sleeping" in msg["content"].get("text", "")

        wait_until(sleeping, 30, "the cell to start sleeping")
        kernel.interrupt()
        wait_until(lambda: kernel.shell_reply()["parent_header"].get("msg_id") == msg_id, 60, "the reply")
        message = titled(inbox, "item9")[0]
        assert "interrupted" in message["title"] and "CancelledError" not in message["content"]


def test_a_failed_receipt_stands_out_and_its_redacted_url_is_no_link(inbox, tmp_path):
    """In a notebook page the receipt is HTML: a failure in the theme's error colour and bold, a success quiet and
    grey; the text is escaped, so a front end does not turn the redacted destination URL into a link."""
    with kernel_with_extension(inbox, tmp_path) as kernel:
        good = kernel.run("%%wxnotify -t styled-ok\npass")
        kernel.run("%wxnotify wait 30")  # settled: the next receipt is a line of its own
        bad = kernel.run("%%wxnotify --to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bad-key-for-test\npass")
        kernel.run("%wxnotify wait 30")
        shown = {name: next(o.data for o in cell.outputs if o.output_type == "display_data")
                 for name, cell in (("good", good), ("bad", bad))}
        assert shown["good"]["text/plain"].startswith("wxnotify: sent via WxPusher")
        assert shown["bad"]["text/plain"].startswith("wxnotify: failed (wecombot://…test)")
        ok_html, bad_html = shown["good"]["text/html"], shown["bad"]["text/html"]
        assert "error-color" in bad_html and "font-weight:600" in bad_html  # not the weight of a success
        assert "error-color" not in ok_html and "font-weight" not in ok_html
        assert "<a " not in bad_html and "bad-key-for" not in bad_html and "wecombot://…test" in bad_html
