"""An outbox file that broke while processes used it: what a new file carries over, and which ids were lost.

A broken file is moved aside (``storage.py``); the file started in its place gets the pending items that can
still be read from it and each process's own unsettled ones, ids kept. Ids are never handed out twice: the new
file's ids start well above any seen, and a ``repairs`` row says which ids may have been lost with the old one.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from .i18n import tr
from .status import Status
from .storage import Tx

# A file started after a broken one says which ids may have been lost with it (created only then)
REPAIRS = "CREATE TABLE IF NOT EXISTS repairs (above INTEGER NOT NULL, aside TEXT NOT NULL, at REAL NOT NULL)"
# The columns of an item carried into a new file besides the outbox's own ``COLUMNS``, and their values when not
# known
CARRIED: dict[str, Any] = {"id": 0, "status": "pending", "attempts": 0, "parts_done": 0, "reason": "",
                           "lease_until": 0.0, "owner": "", "merged_into": 0}
ID_GAP = 1000  # ids left unused after a broken file: those other processes may have given since this one looked


def sound(row: dict[str, Any], columns: Sequence[str]) -> bool:
    """True when an item read from a broken file is whole enough to be sent."""
    try:
        json.loads(row["notification"])
        json.loads(row["quotas"] or "{}")
        Status(row["status"])
        return all(row.get(c) is not None for c in columns)
    except (KeyError, TypeError, ValueError):
        return False


def lost(db: sqlite3.Connection, item_id: int) -> str:
    """Why ``item_id`` is not in the file, when it was lost with a broken one ('' when it was not)."""
    try:
        hit = db.execute("SELECT aside FROM repairs WHERE above>=? ORDER BY at LIMIT 1", (item_id,)).fetchone()
    except sqlite3.OperationalError:  # no file broke: there is no such table
        return ""
    return tr("lost with the damaged outbox (kept as {aside})", aside=hit[0]) if hit else ""


def carry(source: sqlite3.Connection | None, db: sqlite3.Connection, aside: str, seen: int,
          mine: dict[int, dict[str, Any]], columns: Sequence[str]) -> int:
    """Fill a file started after a broken one (``aside``, or moved aside by another process) with the pending
    items that can still be read from it and this process's own unsettled ones (``mine``), ids kept; return the
    highest id that may have been given (above ``seen``, the highest this process saw): no id handed out
    before is given again, and the ids lost with the file are known to be lost (``lost``)."""
    carried = {**CARRIED, **dict.fromkeys(columns)}
    insert = f"INSERT OR IGNORE INTO outbox ({', '.join(carried)}) VALUES ({', '.join('?' * len(carried))})"
    found: list[dict[str, Any]] = []
    top = seen
    if source is not None:
        with contextlib.suppress(sqlite3.Error, TypeError, ValueError):
            top = max(top, int(source.execute("SELECT MAX(id) FROM outbox").fetchone()[0] or 0))
        with contextlib.suppress(sqlite3.Error):
            found = [dict(r) for r in source.execute("SELECT * FROM outbox WHERE status IN ('pending','sending')")]
    rows = {int(r["id"]): r for r in found if sound(r, columns)}
    rows.update(mine)  # this process's own view of its items is the latest
    top = max(top, *rows) if rows else top
    if aside:  # other processes may have handed out ids this one has not seen: start well above them
        top += ID_GAP
    with Tx(db):
        db.executemany(insert, [tuple(r.get(n, carried[n]) for n in carried) for r in rows.values()])
        db.execute(REPAIRS)
        if not aside:  # joining the file another process started: it named the broken one
            last = db.execute("SELECT aside FROM repairs ORDER BY at DESC LIMIT 1").fetchone()
            aside = str(last[0]) if last else ""
        db.execute("INSERT INTO repairs (above, aside, at) VALUES (?, ?, ?)", (top, aside, time.time()))
        if not db.execute("UPDATE sqlite_sequence SET seq=MAX(seq, ?) WHERE name='outbox'", (top,)).rowcount:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (top,))
    return top
