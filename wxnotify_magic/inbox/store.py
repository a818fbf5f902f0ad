"""Where an inbox keeps what it received between runs: one JSON line per recorded request (owner-only file)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

JSON = Any


def load(path: Path) -> list[JSON]:
    """The records kept in `path`, oldest first; none when it is missing. A damaged line is skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), int):
            records.append(record)
    return records


def append(path: Path, record: JSON) -> None:
    """Add one record at the end of `path` (created with mode 0600, its folder with 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def clear(path: Path) -> None:
    """Forget every kept record."""
    path.unlink(missing_ok=True)
