"""Tee of stdout/stderr into a bounded tail: output still shows live, the tail keeps the last lines."""

from __future__ import annotations

import base64
import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .metrics import Metrics


def collapse_carriage_returns(text: str) -> str:
    """Make ``\\r`` progress output (tqdm) look like its final state: each line keeps its last rewrite."""
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        parts = line.split("\r")
        last = next((p for p in reversed(parts) if p), "")
        lines.append(last)
    return "\n".join(lines)


def without_end(text: str, end: str) -> str:
    """``text`` without ``end`` when it ends with it (trailing newlines aside), else ``text``."""
    end = end.rstrip("\n")
    body = text.rstrip("\n")
    return body[: len(body) - len(end)] if end and body.endswith(end) else text


def _joined(chunks: list[str]) -> str:
    """Join written chunks, skipping anything that is not text (bytes written by mistake)."""
    try:
        return "".join(chunks)
    except TypeError:
        return "".join(c for c in chunks if isinstance(c, str))


class Tail:
    """The last output of a job, in bounded memory whatever is written."""

    def __init__(self, lines: int = 20, max_chars: int = 16384) -> None:
        self.lines = lines
        self.max_chars = max(max_chars, 256)
        self.chunks: list[str] = []
        self.size = 0
        self.dropped = 0  # characters compacted away: dropped + size only grows (activity)
        from .metrics import Metrics  # loaded by the first job, not at %load_ext

        self._metrics = Metrics()  # the training curve of what was compacted away
        self._fed = 0  # characters at the start of ``chunks`` already in ``_metrics``

    def write(self, text: str) -> None:
        self.chunks.append(text)
        self.size += len(text)
        if self.size > 2 * self.max_chars:
            self.compact()

    def compact(self) -> None:
        """Keep only the last ``max_chars`` characters, with progress bars collapsed."""
        raw = _joined(self.chunks)
        cut = max(raw.rfind("\n"), raw.rfind("\r")) + 1  # whole lines (and bar rewrites) go to the metrics
        if cut > self._fed:
            self._metrics.feed(raw[self._fed:cut])
        rest = raw[max(cut, self._fed):]
        # a trailing \r means the next write overwrites this line: keep that meaning
        kept = collapse_carriage_returns(raw)[-self.max_chars:] + ("\r" if raw.endswith("\r") else "")
        self._fed = len(kept) - len(rest) if kept.endswith(rest) else len(kept)
        self.dropped += self.size - len(kept)
        self.chunks = [kept]
        self.size = len(kept)

    def text(self, lines: int | None = None, drop_end: str = "") -> str:
        """The last ``lines`` lines (default: this tail's size), progress bars collapsed, without ``drop_end``."""
        n = self.lines if lines is None else lines
        if n <= 0:
            return ""
        text = without_end(collapse_carriage_returns(_joined(self.chunks)), drop_end).rstrip("\n")
        return "\n".join(text.split("\n")[-n:])

    def last_line(self) -> str:
        return self.text(1)

    def metrics(self) -> Metrics:
        """The metrics of everything written so far (the training curve)."""
        found = self._metrics.copy()
        found.feed(_joined(self.chunks)[self._fed:])
        return found

    def activity(self) -> int:
        """Characters written so far: changes with any output (sampled by the monitor, no cost per write)."""
        return self.dropped + self.size


_THREADS: dict[int, Any] = {}  # thread -> the tail of the job it runs itself (or _SILENT while it prints a receipt)
_SILENT = object()


@contextlib.contextmanager
def uncaptured() -> Iterator[None]:
    """What this thread prints meanwhile (a receipt line) goes into no job's output."""
    ident = threading.get_ident()
    before = _THREADS.get(ident)
    _THREADS[ident] = _SILENT
    try:
        yield
    finally:
        if before is None:
            _THREADS.pop(ident, None)
        else:
            _THREADS[ident] = before


class Tee:
    """A text stream that writes through to ``target`` and into ``tail``; everything else is delegated.

    ``write`` is on the hot path of every print, so it does the tail's bookkeeping inline. A job run in a
    thread of its own (``owner``) keeps only what that thread prints; a job on the main thread keeps what
    every thread prints except threads running jobs of their own.
    """

    def __init__(self, target: TextIO, tail: Tail, owner: int | None = None) -> None:
        self._target = target
        self._target_write = target.write
        self._tail = tail
        self._limit = 2 * tail.max_chars
        self._owner = owner

    def write(self, text: str) -> int:
        tail = self._tail
        if _THREADS:  # some thread runs a job of its own or prints a receipt: is this write this job's?
            ident = threading.get_ident()
            theirs = _THREADS.get(ident)
            if (theirs is not None and theirs is not tail) or (self._owner is not None and ident != self._owner):
                return self._target_write(text)
        tail.chunks.append(text)
        tail.size += len(text)
        if tail.size > self._limit:
            tail.compact()
        return self._target_write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class OutputCapture:
    """Tees ``sys.stdout`` and ``sys.stderr`` into a tail for the length of a job.

    Like IPython's own history tee, it patches the streams' ``write`` rather than replacing the
    streams, because ipykernel and libraries check the stream's type. Streams that refuse a new
    attribute are replaced by a ``Tee`` instead.
    """

    def __init__(self, tail: Tail) -> None:
        self.tail = tail
        self._undo: list[Any] = []
        self._owner: int | None = None

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():  # a job in a thread: that thread's output
            self._owner = threading.get_ident()
            _THREADS[self._owner] = self.tail  # (the main thread's job leaves the fast path alone)
        for name in ("stdout", "stderr"):
            self._undo.append(self._tee(name))

    def _tee(self, name: str) -> Any:
        stream = getattr(sys, name)
        tee = Tee(stream, self.tail, self._owner)
        had_own = "write" in getattr(stream, "__dict__", {})
        try:
            stream.write = tee.write
        except (AttributeError, TypeError):
            setattr(sys, name, tee)

            def put_back() -> None:
                if getattr(sys, name) is tee:
                    setattr(sys, name, stream)

            return put_back

        def undo() -> None:
            if getattr(stream, "write", None) != tee.write:
                return  # someone patched after us and restored their own: leave it alone
            if had_own:
                stream.write = tee._target_write
            else:
                del stream.write

        return undo

    def stop(self) -> None:
        """Undo the tee, unless something else took the stream over meanwhile (then leave that alone)."""
        for undo in reversed(self._undo):
            undo()
        self._undo = []
        for ident, tail in list(_THREADS.items()):
            if tail is self.tail:
                _THREADS.pop(ident, None)


def kernel_messages() -> int:
    """How many messages this process's Jupyter kernel has sent (output, displays updated in place, widget
    updates such as a ``tqdm.auto`` bar): progress a notebook shows without printing. 0 outside a kernel; reads
    a counter the kernel keeps anyway (no hook, no cost per message)."""
    base = sys.modules.get("ipykernel.kernelbase")
    kernel = getattr(base, "Kernel", None)
    try:
        if kernel is None or not kernel.initialized():
            return 0
        return int(getattr(kernel.instance().session, "message_count", 0) or 0)
    except Exception:  # a kernel shutting down, or a different kernel class: no signal
        return 0


METRICS_BUDGET = 1 << 20  # characters of a cell's output read for its training curve


class HistoryTail:
    """The cell's stdout/stderr read from IPython's own history tee (IPython 9+): no work per write.

    IPython 9 already patches the streams during ``run_cell`` and keeps every chunk in
    ``history_manager.outputs``; teeing a second time would double the cost of each print.
    """

    BUDGET = 65536  # characters read back from the end

    def __init__(self, outputs: Any, count: int, lines: int) -> None:
        self.lines = lines
        self._outputs = outputs
        self._count = count
        entries = outputs.get(count, [])
        self._start = (len(entries), len(_stream(entries[-1])) if entries else 0)

    @classmethod
    def of(cls, shell: Any, lines: int) -> HistoryTail | None:
        """A tail over IPython's history tee when it is installed on sys.stdout (inside run_cell), else None."""
        write = getattr(sys.stdout, "write", None)
        outputs = getattr(getattr(shell, "history_manager", None), "outputs", None)
        if not getattr(write, "__qualname__", "").endswith("_tee.<locals>.write") or not isinstance(outputs, dict):
            return None
        try:  # the execution count the tee files output under (ipykernel moves the shell's count on before)
            count = write.__closure__[write.__code__.co_freevars.index("execution_count")].cell_contents  # type: ignore
        except (AttributeError, IndexError, TypeError, ValueError):
            return None
        return cls(outputs, count, lines)

    @property
    def count(self) -> int:
        """The execution count IPython files this cell's output under (the cell's own number)."""
        return self._count

    def _chunks(self, budget: int = BUDGET) -> list[str]:
        entries = list(self._outputs.get(self._count, []))
        first, skip = self._start
        picked: list[str] = []
        size = 0
        for index in range(len(entries) - 1, max(first - 1, 0) - 1, -1):
            entry = entries[index]
            if getattr(entry, "output_type", "") not in ("out_stream", "err_stream"):
                continue
            stream = _stream(entry)
            low = skip if index == first - 1 else 0
            for chunk in reversed(stream[low:]):
                picked.append(chunk)
                size += len(chunk)
                if size > budget:
                    return picked[::-1]
        return picked[::-1]

    def text(self, lines: int | None = None, drop_end: str = "") -> str:
        tail = Tail(self.lines if lines is None else lines, max_chars=self.BUDGET)
        for chunk in self._chunks():
            tail.write(chunk)
        return tail.text(drop_end=drop_end)

    def last_line(self) -> str:
        return self.text(1)

    def metrics(self) -> Metrics:
        """The metrics of the cell's output (its last ``METRICS_BUDGET`` characters): the training curve."""
        from .metrics import Metrics

        found = Metrics()
        found.feed(_joined(self._chunks(METRICS_BUDGET)))
        return found

    def activity(self) -> tuple[int, int]:
        """Changes with any output: (entries, chunks in the last one) of IPython's own copy."""
        entries = self._outputs.get(self._count, [])
        return len(entries), len(_stream(entries[-1])) if entries else 0


def _stream(entry: Any) -> list[str]:
    stream = getattr(entry, "bundle", {}).get("stream", [])
    return stream if isinstance(stream, list) else [str(stream)]


IMAGE_TYPES = ("image/png", "image/jpeg")


class LastImage:
    """The last ``image/png`` or ``image/jpeg`` a cell displayed (``display()``, an inline matplotlib figure, or
    the cell's value), as (mime type, base64).

    In ipykernel it listens through the message hooks of the display publisher and the display hook (one dict
    lookup per display, no copy); elsewhere it reads IPython's own record of the cell's outputs (IPython 9).
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.found: tuple[str, str] | None = None
        self._hooked: list[Any] = []
        self._marks: dict[int, int] = {}

    def start(self) -> LastImage:
        for target in (getattr(self.shell, "display_pub", None), getattr(self.shell, "displayhook", None)):
            register = getattr(target, "register_hook", None)
            if callable(register) and callable(getattr(target, "unregister_hook", None)):
                register(self._hook)
                self._hooked.append(target)
        outputs = self._outputs()
        count = getattr(self.shell, "execution_count", 0) or 0
        if outputs is not None:  # where the cell's outputs will be filed: the count, or one off it
            self._marks = {k: len(outputs[k]) if k in outputs else 0 for k in (count - 1, count, count + 1)}
        return self

    def _outputs(self) -> dict[int, list[Any]] | None:
        outputs = getattr(getattr(self.shell, "history_manager", None), "outputs", None)
        return outputs if isinstance(outputs, dict) else None

    def _hook(self, msg: Any) -> Any:
        with contextlib.suppress(Exception):  # a display must never fail because of us
            self._take(msg["content"]["data"])
        return msg

    def _take(self, bundle: Any) -> None:
        picked = image_of(bundle)
        if picked is not None:
            self.found = picked

    def stop(self) -> tuple[str, str] | None:
        """Stop listening; the last image seen, or None."""
        hooked, self._hooked = self._hooked, []
        for target in hooked:
            with contextlib.suppress(Exception):
                target.unregister_hook(self._hook)
        outputs, marks, self._marks = self._outputs(), self._marks, {}
        if outputs is None or len(hooked) == 2:
            return self.found
        kinds = ("execute_result",) if hooked else ("execute_result", "display_data")
        recorded = None
        for key, start in marks.items():
            for entry in list(outputs.get(key, []))[start:]:
                if getattr(entry, "output_type", "") in kinds:
                    recorded = image_of(getattr(entry, "bundle", None)) or recorded
        if recorded is not None and (not hooked or self.found is None):
            self.found = recorded
        return self.found


def image_of(bundle: Any) -> tuple[str, str] | None:
    """(mime type, base64) of the PNG or JPEG in a display bundle, or None."""
    if not isinstance(bundle, dict):
        return None
    for mime in IMAGE_TYPES:
        data = bundle.get(mime)
        if isinstance(data, bytes):
            data = base64.b64encode(data).decode("ascii")
        if isinstance(data, str) and data:
            return mime, data
    return None
