"""Tee of stdout/stderr into a bounded tail: output still shows live, the tail keeps the last lines."""

from __future__ import annotations

import sys
from collections import deque
from typing import Any, TextIO


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


class Tail:
    """The last output of a job, in bounded memory whatever is written."""

    def __init__(self, lines: int = 20, max_chars: int = 16384) -> None:
        self.lines = lines
        self.max_chars = max(max_chars, 256)
        self._chunks: deque[str] = deque()
        self._size = 0

    def write(self, text: str) -> None:
        self._chunks.append(text)
        self._size += len(text)
        if self._size > 2 * self.max_chars:
            self._compact()

    def _compact(self) -> None:
        raw = "".join(self._chunks)
        # a trailing \r means the next write overwrites this line: keep that meaning
        kept = collapse_carriage_returns(raw)[-self.max_chars:] + ("\r" if raw.endswith("\r") else "")
        self._chunks = deque([kept])
        self._size = len(kept)

    def text(self, lines: int | None = None) -> str:
        """The last ``lines`` lines (default: this tail's size), progress bars collapsed."""
        n = self.lines if lines is None else lines
        if n <= 0:
            return ""
        text = collapse_carriage_returns("".join(self._chunks)).rstrip("\n")
        return "\n".join(text.split("\n")[-n:])

    def last_line(self) -> str:
        return self.text(1)


class Tee:
    """A text stream that writes through to ``target`` and into ``tail``; everything else is delegated."""

    def __init__(self, target: TextIO, tail: Tail) -> None:
        self._target = target
        self._tail = tail

    def write(self, text: str) -> int:
        result = self._target.write(text)
        if isinstance(text, str):
            self._tail.write(text)
        return result if isinstance(result, int) else len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class OutputCapture:
    """Installs a tee on ``sys.stdout`` and ``sys.stderr`` for the length of a job."""

    def __init__(self, tail: Tail) -> None:
        self.tail = tail
        self._saved: tuple[Any, Any] | None = None

    def start(self) -> None:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = Tee(sys.stdout, self.tail)
        sys.stderr = Tee(sys.stderr, self.tail)

    def stop(self) -> None:
        """Put the streams back, unless something else replaced them meanwhile (then leave that alone)."""
        if self._saved is None:
            return
        out, err = self._saved
        if isinstance(sys.stdout, Tee) and sys.stdout._tail is self.tail:
            sys.stdout = out
        if isinstance(sys.stderr, Tee) and sys.stderr._tail is self.tail:
            sys.stderr = err
        self._saved = None
