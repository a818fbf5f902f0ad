"""The training curve: metrics a job prints over time, as a sparkline in its message (a real shell, a real loop)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import WECOM_KEY, settled

from wxnotify_magic.message import Notification, render
from wxnotify_magic.metrics import metrics_of, sparkline, trend_lines

TRAIN = """%%wxnotify -t train
import math, sys
for epoch in range(1, 31):
    loss = 2.3 * math.exp(-epoch / 5) + 0.1 + (0.02 if epoch == 25 else 0)
    print(f"epoch {epoch:2d}  loss {loss:.3f}  acc={1 - loss / 3:.3f}  val_loss: {loss * 1.1:.2e}")
    sys.stderr.write("x" * 2000 + "\\n")  # enough output for the tail to drop the early epochs
"""


def test_a_training_loop_sends_its_curve_in_a_real_shell(ip: Any, inbox: Any) -> None:
    ip.run_cell("%config WxNotify.tail = 3")
    ip.run_cell(TRAIN).raise_error()
    (msg,) = settled(inbox)
    lines = [x[2:] for x in msg["content"].splitlines() if x.startswith("- ") and "→" in x]
    assert len(lines) == 3, msg["content"]  # three metrics, however many the output holds
    loss = lines[0]
    assert re.fullmatch(r"loss 1\.98 → 0\.1\d [▁-█]{12} \(best 0\.1\d @ epoch (29|30)\)", loss), loss
    assert loss.split()[4].startswith("█") and loss.split()[4].endswith("▁")  # it went down
    assert lines[1].startswith("acc 0.34 → 0.96 ") and "(best 0.96 @ epoch" in lines[1]
    assert lines[2].startswith("val_loss 2.18 → 0.1")  # 2.18e+00: read as a number
    assert "epoch  1" not in msg["content"]  # the curve covers epochs the output tail no longer holds


def test_a_cell_with_no_metric_shows_nothing_extra(ip: Any, inbox: Any) -> None:
    ip.run_cell("%%wxnotify -t plain\nfor i in range(5):\n    print('loading 20%', 'file', i, 'of 5')").raise_error()
    (msg,) = settled(inbox)
    assert "→" not in msg["content"] and "best" not in msg["content"]


def test_progress_pings_carry_the_curve_and_tqdm_rate(ip: Any, inbox: Any) -> None:
    pytest.importorskip("tqdm")
    ip.run_cell(f"%%wxnotify --every 0.4s --to wecombot://{WECOM_KEY}\nimport time\nfrom tqdm import tqdm\n"
                "bar = tqdm(range(40), mininterval=0, ascii=True)\nfor i in bar:\n"
                "    bar.set_postfix(loss=f'{2 / (i + 1):.3f}')\n    time.sleep(0.03)").raise_error()
    msgs = settled(inbox)
    pings = [m["content"] for m in msgs if "still running" in m["content"]]
    assert pings, [m["content"] for m in msgs]
    assert any(re.search(r"loss \d\.\d\d → \d\.\d\d [▁-█]+", p) for p in pings), pings
    assert any(re.search(r"\d+(\.\d+)?it/s · ETA \d\d:\d\d", p) for p in pings), pings


@pytest.mark.parametrize("text,expected", [
    ("loss 0.5\nloss 0.4\nloss 0.3", ["loss 0.50 → 0.30 █▅▁ (best 0.30)"]),
    ("acc=0.1\nacc=0.5\nacc=0.9", ["acc 0.10 → 0.90 ▁▅█ (best 0.90)"]),
    ("val_loss: 1.2e-3\nval_loss: 1.0e-3\nval_loss: 9e-4", ["val_loss 0.0012 → 0.0009 █▃▁ (best 0.0009)"]),
    ("  5%|5  | 1/20 [00:01<00:19,  1.00it/s, loss=0.9]\r 10%|# | 2/20 [00:02<00:18,  1.00it/s, loss=0.5]\r"
     " 15%|#5 | 3/20 [00:03<00:17,  1.00it/s, loss=0.1]", ["loss 0.90 → 0.10 █▅▁ (best 0.10 @ step 3)"]),
    ("Epoch 1/3 - loss: 0.9\nEpoch 2/3 - loss: 0.7\nEpoch 3/3 - loss: 0.8",
     ["loss 0.90 → 0.80 █▁▅ (best 0.70 @ epoch 2)"]),
    ("loading 10%\nloading 50%\nloading 100%\nsaved 3 files\n", []),
    ("loss 0.5\nloss 0.4", []),  # twice is not a curve
])
def test_metrics_are_read_as_people_print_them(text: str, expected: list[str]) -> None:
    assert trend_lines(metrics_of(text).trends(), "en") == expected


def test_the_curve_in_chinese_and_in_bounded_memory() -> None:
    found = metrics_of("\n".join(f"epoch {i} loss {1 / i:.8e}" for i in range(1, 100_001)))
    assert len(found.series["loss"].points) < 256 and found.series["loss"].seen == 100_000
    note = Notification(status="success", title="训练", lang="zh", extra={"trend": found.trends()})
    assert "loss 1.00 → 1e-05 █▁▁▁▁▁▁▁▁▁▁▁（最佳 1e-05，第 100000 轮）" in render(note, "text")
    assert sparkline([3, 2, 1, 0]) == "█▆▃▁" and sparkline([1, 1, 1]) == "▅▅▅"
