"""The one ``Notification`` value and its pure rendering into each provider's format and limits."""

from __future__ import annotations

import functools
import html
import re
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from .durations import human_duration
from .i18n import N_, tr
from .patterns import compiled as _compiled

Format = Literal["text", "markdown", "html"]
Unit = Literal["chars", "bytes"]

STATUS_WORDS = {
    "success": N_("finished"),
    "failed": N_("failed"),
    "interrupted": N_("interrupted"),
    "running": N_("still running"),
    "started": N_("started"),
    "message": N_("message"),
    "died": N_("died"),  # the kernel (or process) died while the job ran
    "stalled": N_("stalled"),  # no output for --stall
}
STATUS_ICONS = {"success": "✅", "failed": "❌", "interrupted": "⏹", "running": "⏳", "started": "🚀",
                "message": "💬", "died": "💀", "stalled": "⚠️"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_SURROGATES = "[\ud800-\udfff]"
_BOX = re.compile(r"[+|-]+")  # the frame lines of an exception group's traceback
ELLIPSIS = "…"
SEP = " · "
TITLE_MIN = 8  # characters of the title the card keeps before it gives up the exception line
EXCEPTION_MIN = 12  # characters of the exception line worth showing on the card
EXCEPTION_LIMIT = 300  # the exception line leading the body
TEXT_FIELDS = ("title", "text", "host", "notebook", "output", "value", "traceback", "cause")


def clean_text(text: str) -> str:
    """``text`` as any service can take it: lone surrogates (what ``os.listdir`` returns for a file name that is
    not UTF-8, or text decoded with ``surrogateescape``) become U+FFFD, as a notebook shows them."""
    return text if text.isascii() or not _compiled(_SURROGATES).search(text) else _compiled(_SURROGATES).sub(
        "\ufffd", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


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
    lang: str = ""  # the language to render in, fixed when the notification is built ("" = the current one)
    figure: str = ""  # the last image the job displayed, base64 (``figure_type`` says PNG or JPEG)
    figure_type: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # -- resources and the cause of a death ------------------------------------------------------
    peak_memory: int | None = None  # bytes: the job's resident high-water mark
    gpu_peaks: dict[str, int] = field(default_factory=dict)  # device index -> bytes
    cause: str = ""  # why the process died, when it can be told

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def summary(self) -> str:
        """The card line: ``❌ train resnet50 failed · 2h 03m · CUDA out of memory``."""
        return headline(self)

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

    def cleaned(self) -> Notification:
        """The same notification with every text encodable (see ``clean_text``)."""
        changes: dict[str, Any] = {name: clean_text(str(getattr(self, name))) for name in TEXT_FIELDS}
        if self.extra:
            changes["extra"] = _clean(self.extra)
        return replace(self, **changes)


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


def cut_traceback(text: str, limit: int, unit: Unit = "chars", lang: str | None = None) -> str:
    """Shorten a traceback from the middle: the exception line and innermost frames always survive."""
    if measure(text, unit) <= limit:
        return text
    lines = text.rstrip("\n").split("\n")
    exc_line = lines[-1]
    marker = tr("  … (outer frames cut) …", lang=lang)
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


def _lang(n: Notification) -> str | None:
    return n.lang or None


def verdict(n: Notification) -> str:
    """The status word in the notification's language: finished, failed, interrupted, still running."""
    return tr(STATUS_WORDS.get(n.status, n.status), lang=_lang(n))


def exception_line(n: Notification) -> str:
    """The exception line of a failure (``OutOfMemoryError: CUDA out of memory``), without the module path;
    for a death, its likely cause (``killed by SIGKILL, likely out of memory (…)``)."""
    if n.status == "died":
        return n.cause
    if n.status != "failed":
        return ""
    lines = [line.strip() for line in strip_ansi(n.traceback).split("\n") if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    if _BOX.fullmatch(line):  # an exception group ends with its box: its own line stands before the first one
        at = next((i for i, x in enumerate(lines) if x.startswith("+-+")), 0)
        line = lines[at - 1].lstrip("| ") if at else line
    m = re.match(r"([A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*(:|$))", line)
    return line[m.end():] if m else line


def _one_line(text: str) -> str:
    return " ".join(strip_ansi(text).split())


CARD = N_("{title}{gap}{verdict}")  # the card's lead; Chinese joins them: 预处理已完成 (``gap``: beside Latin text)
TALLY_CARD = N_("{title} {verdict} · {part} of {count}")  # a digest's first failure, of how many jobs


def _card_lead(n: Notification, title: str) -> str:
    """The card's lead in the notification's language: ``export failed`` (``导出失败``), or for a digest
    ``export failed · 1 of 3`` (``3 条通知中有 1 条失败：导出``)."""
    lang = _lang(n)
    word = "" if n.status == "message" else verdict(n)
    tally = n.extra.get("tally") if isinstance(n.extra, dict) else None
    if tally and word:
        return tr(TALLY_CARD, lang=lang, title=title, verdict=word, part=tally[0], count=tally[1])
    if not word or not title:
        return title or word
    gap = " " if title[-1].isascii() or title[-1] == ELLIPSIS or word[0].isascii() else ""  # 训练 v2 已完成
    return tr(CARD, lang=lang, title=title, verdict=word, gap=gap)


def card_parts(n: Notification) -> list[str]:
    """What follows the card's lead: the duration (``12 s``, ``12 s so far``), or for a digest the job's name."""
    lang = _lang(n)
    if isinstance(n.extra, dict) and "parts" in n.extra:  # a digest: its durations are in its body
        return [x for x in (str(n.extra.get("job") or ""),) if x]
    if n.duration is None or n.status in ("message", "started"):
        return []
    short = human_duration(n.duration, lang, short=True)
    return [tr("{duration} so far", lang=lang, duration=short) if n.status in ("running", "stalled") else short]


def headline(n: Notification, limit: int | None = None, unit: Unit = "chars", exception: bool = True) -> str:
    """The card: verdict, title, duration and, for a failure, the exception line, joined by `` · ``, each once.

    Within ``limit`` the title is shortened first, then the exception line, then the exception line and
    the duration are left out; the icon and the verdict always stay.
    """
    icon = STATUS_ICONS.get(n.status, "")
    title = _one_line(n.title) or "wxnotify"
    took = card_parts(n)
    exc = exception_line(n) if exception else ""

    def compose(t: str, parts: list[str]) -> str:
        return SEP.join([" ".join(x for x in (icon, _card_lead(n, t)) if x), *parts])

    full = compose(title, [*took, exc] if exc else took)
    if limit is None or measure(full, unit) <= limit:
        return full
    short_title = cut_end(title, TITLE_MIN)

    def with_room(parts: list[str], keep: str) -> str | None:
        """The title cut to the room ``parts`` leave, if at least ``keep`` fits."""
        room = limit - (measure(compose("x", parts), unit) - measure("x", unit))
        if room < measure(keep, unit):
            return None
        return compose(cut_end(title, room, unit), parts)

    if exc:
        fitted = with_room([*took, exc], short_title)
        if fitted is not None:
            return fitted
        room = limit - measure(compose(short_title, [*took, ""]), unit)
        if room >= EXCEPTION_MIN:
            return compose(short_title, [*took, cut_end(exc, room, unit)])
    for parts, keep in ((took, short_title), (took, ""), ([], "")):
        fitted = with_room(parts, keep)
        if fitted is not None and measure(fitted, unit) <= limit:
            return fitted
    return cut_end(compose("", []), limit, unit)


def _escape(text: str, fmt: Format) -> str:
    return html.escape(text, quote=False) if fmt == "html" else text


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _block(text: str, fmt: Format) -> str:
    if fmt == "html":
        return f"<pre>{html.escape(text, quote=False)}</pre>"
    if fmt == "markdown":
        fence = "````" if "```" in text else "```"
        return f"{fence}\n{text}\n{fence}"
    return text


def _strong(text: str, fmt: Format) -> str:
    """One line set off: bold in HTML and Markdown (its markup escaped), as it is in text."""
    if fmt == "html":
        return f"<p><b>{html.escape(text, quote=False)}</b></p>"
    if fmt == "markdown":
        return "**" + _MD_SPECIAL.sub(r"\\\1", text) + "**"
    return text


FACT = N_("{label}: {value}")  # one labelled fact; Chinese uses the full-width colon


def _fmt_time(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) if epoch is not None else ""


FACT_LABELS = {"time": N_("Time"), "started": N_("Started"), "host": N_("Host"), "notebook": N_("Notebook"),
               "cell": N_("Cell")}


def _span(n: Notification) -> str:
    """When the job ran: ``2026-12-06 20:41:21 → 20:42:26`` (the end's date only when it differs)."""
    start, end = _fmt_time(n.started), _fmt_time(n.ended)
    if not start or not end or n.status in ("running", "stalled", "message", "started"):
        return ""
    return start if end == start else f"{start} → {end[11:] if end[:10] == start[:10] else end}"


def facts(n: Notification) -> list[tuple[str, str]]:
    """The labelled facts the card does not give, in display order and the notification's language: when it
    ran, where, which cell, its peaks. The duration is on the card."""
    lang = _lang(n)
    span = _span(n)
    digest_ = isinstance(n.extra, dict) and "parts" in n.extra
    rows = [
        ("time", span),
        ("started", "" if span else _fmt_time(n.started)),
        ("host", n.host),
        ("notebook", n.notebook),
        ("cell", f"[{n.execution_count}]" if n.execution_count and not digest_ else ""),
    ]
    return [(tr(FACT_LABELS[k], lang=lang), v) for k, v in rows if v] + resource_facts(n)


def resource_facts(n: Notification) -> list[tuple[str, str]]:
    """Issue 10: the job's peak memory and each GPU's peak, as labelled facts in the notification's language."""
    from .resources import human_bytes

    lang = _lang(n)
    rows = [(tr("Peak memory", lang=lang), human_bytes(n.peak_memory))] if n.peak_memory else []
    rows += [(tr("GPU {index} peak", lang=lang, index=k), human_bytes(v)) for k, v in sorted(n.gpu_peaks.items()) if v]
    return rows


def _facts_block(n: Notification, fmt: Format) -> str:
    rows = facts(n)
    if not rows:
        return ""
    lang = _lang(n)
    if fmt == "html":
        return "<p>" + "<br>".join(tr(FACT, lang=lang, label=f"<b>{k}</b>", value=html.escape(v, quote=False))
                                   for k, v in rows) + "</p>"
    if fmt == "markdown":
        return "\n".join("- " + tr(FACT, lang=lang, label=f"**{k}**", value=v) for k, v in rows)
    return "\n".join(tr(FACT, lang=lang, label=k, value=v) for k, v in rows)


def _heading(text: str, fmt: Format) -> str:
    if fmt == "html":
        return f"<h3>{html.escape(text, quote=False)}</h3>"
    return f"### {text}" if fmt == "markdown" else text


SECTION_LABELS = {"output": N_("Last output"), "value": N_("Value"), "traceback": N_("Traceback")}
_SECTIONS = (("text", cut_end), ("output", cut_start), ("value", cut_end), ("traceback", cut_traceback))


def _section(name: str, body: str, fmt: Format, lang: str | None) -> str:
    if name == "text":
        return _escape(body, fmt).replace("\n", "<br>") if fmt == "html" else body
    label = tr(SECTION_LABELS[name], lang=lang)
    heading = {"html": f"<p><b>{label}</b></p>", "markdown": f"**{label}**", "text": f"-- {label} --"}[fmt]
    return f"{heading}\n{_block(body, fmt)}"


_SACRIFICE_ORDER = ("value", "output", "text", "traceback")


def curves(n: Notification) -> list[str]:
    """The training curve lines (``loss 2.30 → 0.12 ▇▅▃▂▁ (best 0.11 @ epoch 17)``) and a ping's tqdm rate."""
    extra = n.extra if isinstance(n.extra, dict) else {}
    trends = extra.get("trend")
    if isinstance(trends, list):
        from .metrics import trend_lines  # parsed from a job's output: loaded by the first job that has a curve

        lines = trend_lines(trends, _lang(n))
    else:
        lines = []
    progress = extra.get("progress")
    return lines + ([str(progress)] if progress and n.status in ("running", "stalled") else [])


def _curves_block(n: Notification, fmt: Format) -> str:
    lines = curves(n)
    if not lines:
        return ""
    if fmt == "html":
        return "<p>" + "<br>".join(html.escape(x, quote=False) for x in lines) + "</p>"
    return "\n".join(("- " if fmt == "markdown" else "") + x for x in lines)


_SHOWN_TB = re.compile(r"^(?:-{20,}\n)?.*Traceback \(most recent call last\).*$", re.M)


def without_shown_traceback(output: str, traceback: str) -> str:
    """The output without the traceback a terminal shell printed at its end (the body has its own traceback
    section): cut at the last ``Traceback (most recent call last)`` header (and IPython's rule above it) when
    the output ends with the traceback's exception line."""
    tb_lines = [x.strip() for x in traceback.split("\n") if x.strip()]
    out_lines = [x.strip() for x in output.split("\n") if x.strip()]
    if not tb_lines or not out_lines or out_lines[-1] != tb_lines[-1]:
        return output
    starts = list(_SHOWN_TB.finditer(output))
    return output[:starts[-1].start()].rstrip("\n") if starts else output


def render(n: Notification, fmt: Format = "text", limit: int = 40000, unit: Unit = "chars",
           with_title: bool = True) -> str:
    """Render ``n`` as ``fmt``, never longer than ``limit`` (characters or UTF-8 bytes).

    The body says first what the reader needs first: with ``with_title`` (services without a title field)
    the card line, else (the service shows the card as its title) the exception line of a failure; then
    the message, the output tail, the value, the traceback and last the facts in one block. Long parts are
    shortened the way a reader wants: the latest output, the exception line and the innermost frames, and
    the start of a value or message survive.
    """
    lang = _lang(n)
    bodies = {name: strip_ansi(getattr(n, name)).strip("\n") for name, _ in _SECTIONS}
    bodies["output"] = without_shown_traceback(bodies["output"], bodies["traceback"])
    if fmt == "markdown" and isinstance(n.extra, dict) and "parts" in n.extra:  # a digest: one item a line
        head, _, items = bodies["text"].partition("\n")
        bodies["text"] = "\n".join([head, *("- " + x for x in items.split("\n") if x)])
    lead = [_heading(headline(n), fmt)] if with_title else []
    exc = exception_line(n)
    if exc and not with_title:
        lead.append(_strong(cut_end(exc, EXCEPTION_LIMIT), fmt))
    facts_block = _facts_block(n, fmt)
    curves = _curves_block(n, fmt)
    sep = "\n" if fmt == "html" else "\n\n"

    def assemble(parts: dict[str, str]) -> str:
        chunks = list(lead)
        if parts["text"]:
            chunks.append(_section("text", parts["text"], fmt, lang))
        if curves:
            chunks.append(curves)
        chunks += [_section(name, parts[name], fmt, lang) for name, _ in _SECTIONS[1:] if parts[name]]
        if facts_block:
            chunks.append(facts_block)
        return sep.join(chunks)

    text = assemble(bodies)
    cutters: dict[str, Any] = {**dict(_SECTIONS), "traceback": functools.partial(cut_traceback, lang=lang)}
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
    """The card line within a title field's ``limit``."""
    return headline(n, limit, unit)


# ------------------------------------------------------------------------------------------------ digests

_WORST = ("failed", "interrupted", "running", "success", "message")
UNFINISHED = ("failed", "interrupted")


_PART_FIELDS = ("status", "title", "started", "ended", "execution_count", "host", "notebook")


def digest(notes: list[Notification], title: str = "") -> Notification:
    """Several notifications as one, in the order they came: the card names the first job that did not finish
    (``❌ export failed · 1 of 3 · train.ipynb``) and the body carries its traceback; one line per message;
    the last output; every figure (the last as the figure, the others in ``extra["figures"]``). Used for a Run
    All in auto mode and for a burst held by pacing; it speaks the language of the latest notification. A
    digest among ``notes`` counts as the messages it holds, so merging again never hides one. Messages
    (``%wxsend``) are listed but not counted as finished or not."""
    notes = [part for n in notes for part in _parts(n)]
    if len(notes) == 1 and not title:
        return notes[0]
    lang = notes[-1].lang or None
    status = next((s for s in _WORST if any(n.status == s for n in notes)), "message")
    jobs = [n for n in notes if n.status != "message"]
    first = next((n for n in jobs if n.status in UNFINISHED), None)
    work = sum(n.duration or 0.0 for n in jobs)
    starts = [n.started for n in notes if n.started is not None]
    ends = [n.ended for n in notes if n.ended is not None]
    lines = [_tally_line(notes, jobs, work, lang)] + [_digest_line(n, lang) for n in notes]
    last_output = next((n.output for n in reversed(notes) if n.output), "")
    pictured = [n for n in notes if n.figure]
    parts = [{**{k: getattr(n, k) for k in _PART_FIELDS}, "text": n.text.split("\n", 1)[0][:80]} for n in notes]
    extra: dict[str, Any] = {"parts": parts, "job": title or _job_name(notes)}
    curve = next((n.extra["trend"] for n in reversed(notes) if isinstance(n.extra, dict) and n.extra.get("trend")),
                 None)
    if curve:
        extra["trend"] = curve
    if first is not None:
        extra["tally"] = [sum(n.status == first.status for n in jobs), len(jobs)]
    if pictured:  # every figure is kept: the last one as the figure, the others beside it
        at = [i for i, n in enumerate(notes) if n.figure]
        extra["figure_index"], extra["figure_label"] = at[-1], _label(notes[at[-1]])
        extra["figures"] = [{"index": i, "label": _label(notes[i]), "figure": notes[i].figure,
                             "figure_type": notes[i].figure_type} for i in at[:-1]]
    if first is not None:
        lead = _one_line(first.title)
    elif jobs:
        lead = tr("{count} cells", lang=lang, count=len(jobs)) if all(
            n.execution_count is not None for n in jobs) else tr("{count} jobs", lang=lang, count=len(jobs))
    else:
        lead = tr("{count} messages", lang=lang, count=len(notes))
    return Notification(status=first.status if first else status, title=lead,
                        text="\n".join(lines), started=min(starts, default=None), ended=max(ends, default=None),
                        host=notes[-1].host, notebook=notes[-1].notebook, execution_count=notes[-1].execution_count,
                        output=last_output, traceback=first.traceback if first else "", lang=notes[-1].lang,
                        figure=pictured[-1].figure if pictured else "",
                        figure_type=pictured[-1].figure_type if pictured else "", extra=extra)


def _job_name(notes: list[Notification]) -> str:
    """What the digest is about: the notebook's file name, else the host."""
    books = list(dict.fromkeys(n.notebook.rsplit("/", 1)[-1] for n in notes if n.notebook))
    return books[-1] if len(books) == 1 else ""


def _tally_line(notes: list[Notification], jobs: list[Notification], work: float, lang: str | None) -> str:
    """How many ran and how long they ran in all (the sum of their durations, labelled as such)."""
    texts = len(notes) - len(jobs)
    if not jobs:
        return tr("{count} messages in one", lang=lang, count=len(notes))
    cells = all(n.execution_count is not None for n in jobs)
    line = tr("{count} cells ran for {work} in all", lang=lang, count=len(jobs), work=human_duration(work, lang)) \
        if cells else tr("{count} jobs ran for {work} in all", lang=lang, count=len(jobs),
                         work=human_duration(work, lang))
    more = tr(", with 1 message", lang=lang) if texts == 1 else tr(", with {count} messages", lang=lang, count=texts)
    return line + (more if texts else "")


def _label(n: Notification) -> str:
    return f"[{n.execution_count}]" if n.execution_count is not None else _one_line(n.title)


def digest_figures(n: Notification) -> list[tuple[str, str, str]]:
    """(label, base64, type) of every figure a notification carries, in order: a digest's earlier ones, then
    its own."""
    earlier = n.extra.get("figures") if isinstance(n.extra, dict) else None
    found = [(str(f.get("label", "")), str(f.get("figure", "")), str(f.get("figure_type", "")))
             for f in earlier or [] if isinstance(f, dict) and f.get("figure")]
    label = str(n.extra.get("figure_label", "")) if isinstance(n.extra, dict) else ""
    return found + ([(label, n.figure, n.figure_type)] if n.figure else [])


def _parts(n: Notification) -> list[Notification]:
    """The messages a digest holds (its first failure keeps the traceback, its last the output, and each
    pictured one its figure), else ``[n]``."""
    stored = n.extra.get("parts") if isinstance(n.extra, dict) else None
    if not stored:
        return [n]
    parts = [Notification.from_dict({**p, "lang": n.lang}) for p in stored]
    failed = next((i for i, p in enumerate(parts) if p.status in UNFINISHED), None)
    if failed is not None:
        parts[failed] = replace(parts[failed], traceback=n.traceback)
    for f in n.extra.get("figures") or []:
        if isinstance(f, dict) and isinstance(f.get("index"), int) and 0 <= f["index"] < len(parts):
            parts[f["index"]] = replace(parts[f["index"]], figure=str(f.get("figure", "")),
                                        figure_type=str(f.get("figure_type", "")))
    parts[-1] = replace(parts[-1], output=n.output)
    at = n.extra.get("figure_index", len(parts) - 1)
    if n.figure and isinstance(at, int) and 0 <= at < len(parts):
        parts[at] = replace(parts[at], figure=n.figure, figure_type=n.figure_type)
    return parts


def _digest_line(n: Notification, lang: str | None) -> str:
    cell = f"[{n.execution_count}] " if n.execution_count is not None else ""
    took = f" · {human_duration(n.duration, lang)}" if n.duration is not None and n.status != "message" else ""
    text = n.text.split("\n", 1)[0][:80] if n.status == "message" else ""
    return f"{STATUS_ICONS.get(n.status, '')} {cell}{n.title}{took}{(': ' + text) if text else ''}".strip()
