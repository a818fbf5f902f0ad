"""Training curves in a job's output: numeric metrics repeated over time (``loss 0.231``, ``acc=0.93``,
``val_loss: 1.2e-3``, tqdm postfixes) and their trend as a text sparkline every channel can carry:
``loss 2.30 → 0.12 ▇▅▃▂▁ (best 0.11 @ epoch 17)``. Pure: text in, numbers and strings out."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .i18n import tr

BARS = "▁▂▃▄▅▆▇█"
MAX_SERIES = 8  # metric names followed (the first seen)
MAX_POINTS = 256  # points kept per metric (halved by dropping every other one when full)
SHOWN = 3  # metrics shown in a message
MIN_POINTS = 3  # a metric counts once it was printed this many times
WIDTH = 12  # characters of a sparkline
_NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
# a name, then ``=``, ``:`` or spaces, then a number not followed by a unit, a fraction or more of a word
_PAIR = re.compile(rf"(?<![\w.])([A-Za-z][A-Za-z0-9_]*(?:[/.][A-Za-z0-9_]+)*)(?:\s*[=:]\s*|\s+)({_NUMBER})"
                   r"(?![\w.%/:])")
_COUNTERS = {"epoch": "epoch", "ep": "epoch", "step": "step", "iter": "step", "iteration": "step",
             "batch": "step", "it": "step", "global_step": "step"}
_IGNORED = {"line", "file", "cell", "in", "at", "of", "to", "s", "ms", "eta", "elapsed", "remaining", "total",
            "rate", "lr_step", "seed", "pid", "port", "size", "n", "x", "y", "i", "j", "k", "id", "code", "gpu",
            "rank", "worker", "version", "v", "python", "error", "warning"}
_LOWER_IS_BETTER = re.compile(r"loss|err|perplex|ppl|mse|mae|rmse|nll|cer|wer|dist|time", re.I)
_HIGHER_IS_BETTER = re.compile(r"acc|f1|auc|prec|recall|score|bleu|rouge|map|iou|dice|r2|reward|return", re.I)
_TQDM_RATE = re.compile(r"\[(?P<elapsed>[\d:]+)<(?P<eta>[\d:?]+),\s*(?P<rate>[\d.]+\s*\S+/s|\S+/s|[\d.]+s/\S+)")


@dataclass
class Series:
    """One metric: its first value, its points (thinned to ``MAX_POINTS``), and its best with where it was."""

    first: float
    points: list[float] = field(default_factory=list)
    stride: int = 1  # keep one value in ``stride``
    seen: int = 0
    low: tuple[float, tuple[str, int] | None] = (math.inf, None)
    high: tuple[float, tuple[str, int] | None] = (-math.inf, None)
    last: float = 0.0

    def add(self, value: float, where: tuple[str, int] | None) -> None:
        self.seen += 1
        self.last = value
        if value < self.low[0]:
            self.low = (value, where)
        if value > self.high[0]:
            self.high = (value, where)
        if (self.seen - 1) % self.stride == 0:
            self.points.append(value)
            if len(self.points) >= MAX_POINTS:
                self.points = self.points[::2]
                self.stride *= 2


class Metrics:
    """Metrics found in text fed to it line by line, in bounded memory whatever is fed."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}
        self.counters: dict[str, int] = {}  # the latest epoch/step printed
        self.progress = ""  # the latest tqdm rate and ETA (``12.3it/s, ETA 04:05``)

    def feed(self, text: str) -> None:
        """Take the metrics of each line (``\\r`` rewrites of a progress bar count as lines)."""
        for line in re.split(r"[\r\n]+", text):
            if line.strip():
                self.feed_line(line)

    def feed_line(self, line: str) -> None:
        pairs = [(m.group(1), m.group(2)) for m in _PAIR.finditer(line)]
        where: tuple[str, int] | None = None
        for name, number in pairs:
            kind = _COUNTERS.get(name.lower())
            if kind and re.fullmatch(r"\d+", number):
                self.counters[kind] = int(number)
                where = where or (kind, int(number))
        if where is None:
            epoch = re.search(r"(?i)\bepoch\s*\[?\s*(\d+)\s*(?:/\s*\d+)?", line)
            step = re.search(r"\|\s*(\d+)/\d+\s*\[", line)  # a tqdm bar: ``| 40/100 [``
            where = ("epoch", int(epoch.group(1))) if epoch else ("step", int(step.group(1))) if step else None
        for name, number in pairs:
            low = name.lower()
            if low in _COUNTERS or low in _IGNORED or len(name) > 40:
                continue
            try:
                value = float(number)
            except ValueError:
                continue
            if not math.isfinite(value):
                continue
            series = self.series.get(name)
            if series is None:
                if len(self.series) >= MAX_SERIES:
                    continue
                series = self.series[name] = Series(first=value)
            series.add(value, where)
        rate = _TQDM_RATE.search(line)
        if rate:
            eta = rate.group("eta")
            self.progress = rate.group("rate").replace(" ", "") + ("" if "?" in eta else f" · ETA {eta}")

    def copy(self) -> Metrics:
        other = Metrics()
        other.series = {k: Series(v.first, list(v.points), v.stride, v.seen, v.low, v.high, v.last)
                        for k, v in self.series.items()}
        other.counters, other.progress = dict(self.counters), self.progress
        return other

    def trends(self) -> list[dict[str, Any]]:
        """Up to ``SHOWN`` metrics printed at least ``MIN_POINTS`` times that changed, as plain values (stored
        with the notification, rendered in its language by ``trend_lines``)."""
        found = []
        for name, s in self.series.items():
            if s.seen < MIN_POINTS or s.low[0] == s.high[0]:
                continue
            best = s.low if _LOWER_IS_BETTER.search(name) else s.high if _HIGHER_IS_BETTER.search(name) else None
            found.append({"name": name, "first": s.first, "last": s.last, "spark": sparkline(s.points),
                          "best": best[0] if best else None, "at": list(best[1]) if best and best[1] else None})
            if len(found) == SHOWN:
                break
        return found


def metrics_of(text: str) -> Metrics:
    found = Metrics()
    found.feed(text)
    return found


def sparkline(values: list[float], width: int = WIDTH) -> str:
    """``▇▅▃▂▁``: ``values`` in at most ``width`` bars (the mean of each stretch), scaled to their range."""
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [_mean(values[int(i * size):max(int((i + 1) * size), int(i * size) + 1)]) for i in range(width)]
    low, high = min(values), max(values)
    if high == low:
        return BARS[len(BARS) // 2] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int((v - low) / (high - low) * len(BARS)))] for v in values)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def number(value: float) -> str:
    """``2.30``, ``0.12``, ``0.0012``, ``1.2e-05``, ``1234``: short, and the same width for like values."""
    size = abs(value)
    if size == 0:
        return "0"
    if 0.01 <= size < 1000:
        return f"{value:.2f}"
    if 1000 <= size < 1e6:
        return f"{value:.0f}"
    return f"{value:.2g}"


def trend_lines(trends: list[dict[str, Any]], lang: str | None = None) -> list[str]:
    """``loss 2.30 → 0.12 ▇▅▃▂▁ (best 0.11 @ epoch 17)``, one line a metric, in ``lang``."""
    lines = []
    for t in trends:
        try:
            line = f"{t['name']} {number(float(t['first']))} → {number(float(t['last']))} {t['spark']}"
        except (KeyError, TypeError, ValueError):
            continue
        best, at = t.get("best"), t.get("at")
        if isinstance(best, (int, float)):
            where = ""
            if isinstance(at, list) and len(at) == 2:
                where = (tr("epoch {n}", lang=lang, n=at[1]) if at[0] == "epoch" else
                         tr("step {n}", lang=lang, n=at[1]))
            line = (tr("{line} (best {best} @ {where})", lang=lang, line=line, best=number(best), where=where)
                    if where else tr("{line} (best {best})", lang=lang, line=line, best=number(best)))
        lines.append(line)
    return lines
