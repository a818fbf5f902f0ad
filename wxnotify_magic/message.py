"""The one ``Notification`` value and its pure rendering into each provider's format and limits."""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .durations import human_duration
from .i18n import N_, tr

Format = Literal["text", "markdown", "html"]
Unit = Literal["chars", "bytes"]

STATUS_WORDS = {
    "success": N_("finished"),
    "failed": N_("failed"),
    "interrupted": N_("interrupted"),
    "running": N_("still running"),
    "message": N_("message"),
}
STATUS_ICONS = {"success": "✅", "failed": "❌", "interrupted": "⏹", "running": "⏳", "message": "💬"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Notification:
    """What happened to a job (or an ad-hoc message), independent of any provider."""

    status: str = "message"
    title: str = ""
    text: str = ""
    started: float | None = None
    ended: float | None = None
    host: str = ""
    notebook: str = ""
    execution_count: int | None = None
    output: str = ""
    value: str = ""
    traceback: str = ""
    lang: str = ""  # the language to render in ("" = the current one)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def summary(self) -> str:
        """One line: icon, title and status/duration, e.g. ``✅ train.ipynb [7] finished in 1h 02m 03s``."""
        icon = STATUS_ICONS.get(self.status, "")
        title = self.title or "wxnotify"
        if self.status == "message":
            return f"{icon} {title}".strip()
        word = STATUS_WORDS.get(self.status, self.status)
        took = f" in {human_duration(self.duration)}" if self.duration is not None else ""
        if self.status == "running" and self.duration is not None:
            took = f", {human_duration(self.duration)} so far"
        return f"{icon} {title} {word}{took}".strip()

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notification:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def without_output(self) -> Notification:
        return replace(self, output="", value="")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def measure(text: str, unit: Unit) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def cut_end(text: str, limit: int, unit: Unit = "chars") -> str:
    """Keep the start of ``text`` within ``limit``, marking the cut with an ellipsis."""
    if measure(text, unit) <= limit:
        return text
    if limit <= 0:
        return ""
    budget = limit - measure(ELLIPSIS, unit)
    if budget <= 0:
        return ""
    if unit == "bytes":
        return text.encode("utf-8")[:budget].decode("utf-8", "ignore") + ELLIPSIS
    return text[:budget] + ELLIPSIS


def cut_start(text: str, limit: int, unit: Unit = "chars") -> str:
    """Keep the end of ``text`` (the latest output) within ``limit``."""
    if measure(text, unit) <= limit:
        return text
    budget = limit - measure(ELLIPSIS, unit)
    if budget <= 0:
        return ""
    if unit == "bytes":
        return ELLIPSIS + text.encode("utf-8")[-budget:].decode("utf-8", "ignore")
    return ELLIPSIS + text[-budget:]


def cut_traceback(text: str, limit: int, unit: Unit = "chars") -> str:
    """Shorten a traceback from the middle: the exception line and innermost frames always survive."""
    if measure(text, unit) <= limit:
        return text
    lines = text.rstrip("\n").split("\n")
    exc_line = lines[-1]
    marker = "  … (outer frames cut) …"
    head = lines[0] if lines[0].startswith("Traceback") else ""
    fixed = "\n".join(x for x in (head, marker, exc_line) if x)
    room = limit - measure(fixed, unit) - 1
    if room < 0:  # no room for frames: the exception line alone, shortened only if it must be
        return cut_end(exc_line, max(limit, 80), unit)
    kept: list[str] = []
    for line in reversed(lines[1:-1] if head else lines[:-1]):
        need = measure(line, unit) + 1
        if need > room:
            break
        kept.insert(0, line)
        room -= need
    return "\n".join(x for x in (head, marker, *kept, exc_line) if x)


# ---------------------------------------------------------------------------------------------- rendering


def _escape(text: str, fmt: Format) -> str:
    return html.escape(text, quote=False) if fmt == "html" else text


def _block(text: str, fmt: Format) -> str:
    if fmt == "html":
        return f"<pre>{html.escape(text, quote=False)}</pre>"
    if fmt == "markdown":
        fence = "````" if "```" in text else "```"
        return f"{fence}\n{text}\n{fence}"
    return text


def _fmt_time(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else ""


def facts(n: Notification) -> list[tuple[str, str]]:
    """The short labelled facts of a notification, in display order."""
    rows = [
        ("Status", STATUS_WORDS.get(n.status, n.status) if n.status != "message" else ""),
        ("Duration", human_duration(n.duration) if n.duration is not None else ""),
        ("Started", _fmt_time(n.started)),
        ("Ended", _fmt_time(n.ended) if n.status != "running" else ""),
        ("Host", n.host),
        ("Notebook", n.notebook),
        ("Cell", f"[{n.execution_count}]" if n.execution_count else ""),
    ]
    return [(k, v) for k, v in rows if v]


def _header(n: Notification, fmt: Format, with_title: bool) -> str:
    rows = facts(n)
    if fmt == "html":
        title = f"<h3>{html.escape(n.summary, quote=False)}</h3>" if with_title else ""
        items = "".join(f"<b>{k}</b>: {html.escape(v, quote=False)}<br>" for k, v in rows)
        return title + (f"<p>{items}</p>" if items else "")
    if fmt == "markdown":
        title = f"### {n.summary}\n\n" if with_title else ""
        return title + "\n".join(f"- **{k}**: {v}" for k, v in rows)
    title = f"{n.summary}\n" if with_title else ""
    return title + "\n".join(f"{k}: {v}" for k, v in rows)


_SECTIONS = (("text", "", cut_end), ("traceback", "Traceback", cut_traceback),
             ("output", "Last output", cut_start), ("value", "Value", cut_end))


def _section(label: str, body: str, fmt: Format, name: str) -> str:
    if name == "text":
        return _escape(body, fmt).replace("\n", "<br>") if fmt == "html" else body
    heading = {"html": f"<p><b>{label}</b></p>", "markdown": f"**{label}**", "text": f"-- {label} --"}[fmt]
    return f"{heading}\n{_block(body, fmt)}"


_SACRIFICE_ORDER = ("value", "output", "text", "traceback")


def render(n: Notification, fmt: Format = "text", limit: int = 40000, unit: Unit = "chars",
           with_title: bool = True) -> str:
    """Render ``n`` as ``fmt``, never longer than ``limit`` (characters or UTF-8 bytes).

    Long parts are shortened the way a reader wants: the latest output, the exception line and the
    innermost frames, and the start of a value or message survive.
    """
    bodies = {name: strip_ansi(getattr(n, name)).strip("\n") for name, _, _ in _SECTIONS}
    header = _header(n, fmt, with_title)
    sep = "\n" if fmt == "html" else "\n\n"

    def assemble(parts: dict[str, str]) -> str:
        chunks = [header] if header else []
        chunks += [_section(label, parts[name], fmt, name) for name, label, _ in _SECTIONS if parts[name]]
        return sep.join(chunks)

    text = assemble(bodies)
    cutters = {name: cutter for name, _, cutter in _SECTIONS}
    for name in _SACRIFICE_ORDER:  # give up the least useful parts first
        for _ in range(6):  # escaping can grow text, so re-measure after each cut
            over = measure(text, unit) - limit
            size = measure(bodies[name], unit)
            if over <= 0:
                return text
            if size == 0:
                break
            target = size - over - 8
            bodies[name] = cutters[name](bodies[name], target, unit) if target > 0 else ""
            if name == "traceback" and not bodies[name]:
                bodies[name] = cutters[name](n.traceback.strip("\n"), 0, unit)
            text = assemble(bodies)
    return cut_end(text, limit, unit)


def render_title(n: Notification, limit: int, unit: Unit = "chars") -> str:
    return cut_end(n.summary, limit, unit)


# ------------------------------------------------------------------------------------------------ digests

_WORST = ("failed", "interrupted", "running", "success", "message")


def digest(notes: list[Notification], title: str = "") -> Notification:
    """Several notifications as one: how many, which did not finish (and the first failure's traceback),
    one line per message, and the last output. Used for a Run All in auto mode and for a burst held by pacing."""
    if len(notes) == 1 and not title:
        return notes[0]
    status = next((s for s in _WORST if any(n.status == s for n in notes)), "message")
    starts = [n.started for n in notes if n.started is not None]
    ends = [n.ended for n in notes if n.ended is not None]
    work = sum(n.duration or 0.0 for n in notes)
    unfinished = [n for n in notes if n.status in ("failed", "interrupted")]
    lines = [tr("{count} cells ran, {work} of work", count=len(notes), work=human_duration(work))
             if all(n.execution_count is not None for n in notes) else
             tr("{count} messages in one", count=len(notes))]
    if unfinished:
        lines.append(tr("not finished: {cells}", cells=", ".join(
            f"[{n.execution_count}] {tr(STATUS_WORDS.get(n.status, n.status))}" if n.execution_count is not None
            else f"{n.title} {tr(STATUS_WORDS.get(n.status, n.status))}" for n in unfinished)))
    lines += [_digest_line(n) for n in notes]
    first = next((n for n in unfinished if n.traceback), None)
    last_output = next((n.output for n in reversed(notes) if n.output), "")
    return Notification(status=status, title=title or tr("{count} notifications", count=len(notes)),
                        text="\n".join(lines), started=min(starts, default=None), ended=max(ends, default=None),
                        host=notes[-1].host, notebook=notes[-1].notebook, execution_count=notes[-1].execution_count,
                        output=last_output, traceback=first.traceback if first else "", lang=notes[-1].lang)


def _digest_line(n: Notification) -> str:
    cell = f"[{n.execution_count}] " if n.execution_count is not None else ""
    took = f" · {human_duration(n.duration)}" if n.duration is not None and n.status != "message" else ""
    text = n.text.split("\n", 1)[0][:80] if n.status == "message" else ""
    return f"{STATUS_ICONS.get(n.status, '')} {cell}{n.title}{took}{(': ' + text) if text else ''}".strip()
