"""Digests: a burst held by pacing goes out as one message that keeps every outcome, in a real IPython shell."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from conftest import WECOM_KEY, WX_URL, settled


def _burst(ip: Any, inbox: Any, cells: list[tuple[str, str]], gap: float = 0.15) -> list[dict]:
    """Run ``(title, code)`` cells ``gap`` apart without waiting for their receipts; the inbox once all settled."""
    ip.run_cell("%config WxNotify.wait = 0")  # a cell returns at once: the next ones queue behind pacing
    inbox.add_fault("delay", seconds=2.0)  # and behind the first, slow, send: the burst is merged whatever the load
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


def test_a_digest_sends_every_figure_or_names_those_it_could_not(ip: Any, inbox: Any, capsys: Any) -> None:
    from test_figures import png

    ip.run_line_magic("config", "WxNotify.wait = 0")
    for i in range(4):
        image = base64.b64encode(png(color=(40 * i, 10, 10))).decode()
        ip.run_cell(f"%%wxnotify --after 0 --figure -t plot-{i} --to wecombot://{WECOM_KEY} --to {WX_URL}\n"
                    f"import base64\nfrom IPython.display import Image, display\n"
                    f"display(Image(base64.b64decode({image!r})))", store_history=True)
        time.sleep(0.1)
    capsys.readouterr()
    ip.run_cell("%wxnotify wait 30")
    receipts = capsys.readouterr().out
    msgs = settled(inbox)
    wecom = [m for m in msgs if m["service"] == "wecombot"]
    images = [m for m in wecom if m["body"].get("msgtype") == "image"]
    assert len(images) == 4, [m["body"].get("msgtype") for m in wecom]  # one image per cell, merged or not
    assert len({m["body"]["image"]["md5"] for m in images}) == 4
    merged = [m for m in msgs if m["service"] == "wxpusher" and "plot-" in m["content"]]
    assert len(merged) < 4  # WxPusher merged some: it carries no uploaded image, so the receipts say which
    named = re.findall(r"figures of ([\[\]\d, ]+) not sent via WxPusher", receipts)
    assert named, receipts
    every = "\n".join(m["content"] for m in merged)
    assert all(f"{label} plot-" in every for label in named[0].split(", ")), (named, every)  # the merged cells
