"""Digests: a burst held by pacing goes out as one message that keeps every outcome, in a real IPython shell."""

from __future__ import annotations

import re
import time
from typing import Any

from conftest import settled


def _burst(ip: Any, inbox: Any, cells: list[tuple[str, str]], gap: float = 0.15) -> list[dict]:
    """Run ``(title, code)`` cells ``gap`` apart without waiting for their receipts; the inbox once all settled."""
    ip.run_cell("%config WxNotify.wait = 0")  # a cell returns at once: the next ones queue behind pacing
    for title, code in cells:
        if title.startswith("%"):
            ip.run_cell(title)
        else:
            ip.run_cell(f"%%wxnotify --after 0 -t {title}\n{code}")
        time.sleep(gap)
    ip.run_cell("%wxnotify wait 30")
    return settled(inbox)


def test_a_digest_lists_cells_in_the_order_they_ran_and_leads_with_the_first_failure(ip: Any, inbox: Any) -> None:
    msgs = _burst(ip, inbox, [("ok-1", "pass"), ("ok-2", "pass"), ("fail-A", "raise ValueError('A broke')"),
                       ("fail-B", "raise KeyError('B broke')"), ("ok-3", "print('out 3')")])
    (merged,) = [m for m in msgs if "fail-A" in m["content"] + m["title"]]
    assert merged["title"].startswith("❌ fail-A failed · 2 of "), merged["title"]  # the first failure names it
    assert merged["title"].endswith("ValueError: A broke")
    body = merged["content"]
    assert body.startswith("**ValueError: A broke**")  # the body leads with the first failure too
    listed = re.findall(r"(ok-\d|fail-[AB])", body.split("**Last output**")[0])
    ran = ["ok-1", "ok-2", "fail-A", "fail-B", "ok-3"]
    assert listed == [x for x in ran if x in listed] and "fail-B" in listed, listed  # the order they ran
    traceback = body.split("**Traceback**")[1]
    assert "A broke" in traceback and "B broke" not in traceback  # the first failure's traceback
    assert body.count("ValueError: A broke") == 2  # the lead and the traceback: once each, not in the output
    assert "out 3" in body.split("**Last output**")[1]


def test_texts_merged_with_cells_keep_their_order_and_are_not_counted_as_jobs(ip: Any, inbox: Any) -> None:
    msgs = _burst(ip, inbox, [("job-1", "pass"), ("%wxsend burst-a 11", ""), ("%wxsend burst-a 12", ""),
                       ("job-2", "raise RuntimeError('export broke')"), ("%wxsend burst-a 13", ""),
                       ("job-3", "pass")], gap=0.05)
    content = "\n".join(m["title"] + "\n" + m["content"] for m in msgs)
    assert re.findall(r"burst-a (\d+)", content) == ["11", "12", "13"], content  # merged texts keep their order
    (merged,) = [m for m in msgs if "job-2" in m["title"]]
    jobs = len(re.findall(r"job-\d", merged["content"]))
    assert re.match(rf"❌ job-2 failed · 1 of {jobs} · RuntimeError: export broke$", merged["title"]), \
        merged["title"]  # the texts are not counted as finished or not
    assert f"{jobs} cells ran for " in merged["content"] or f"{jobs} jobs ran for " in merged["content"]
