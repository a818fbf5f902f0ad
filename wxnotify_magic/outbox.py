"""The SQLite outbox: every notification is written before it is sent, so nothing is lost.

Several kernels share one file safely: items are claimed with a lease inside ``BEGIN IMMEDIATE``
transactions, and every HTTP call is logged for the rate limits and daily quotas.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    kind TEXT NOT NULL DEFAULT 'final',
    provider TEXT NOT NULL,
    dest_key TEXT NOT NULL,
    dest_label TEXT NOT NULL,
    dest_url TEXT NOT NULL,
    fallback_url TEXT NOT NULL DEFAULT '',
    notification TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    parts_done INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_try);
CREATE TABLE IF NOT EXISTS calls (dest_key TEXT NOT NULL, ts REAL NOT NULL, digest TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS calls_key ON calls (dest_key, ts);
"""


@dataclass(frozen=True)
class Item:
    id: int
    created: float
    updated: float
    kind: str
    provider: str
    dest_key: str
    dest_label: str
    dest_url: str
    fallback_url: str
    notification: dict[str, Any]
    status: str
    attempts: int
    parts_done: int
    next_try: float
    reason: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Item:
        data = {k: row[k] for k in row.keys() if k not in ("lease_until", "owner")}  # noqa: SIM118
        data["notification"] = json.loads(data["notification"])
        return cls(**data)

    def __repr__(self) -> str:  # never show dest_url (it holds the token)
        return f"Item(id={self.id}, {self.dest_label}, {self.status}, attempts={self.attempts})"


class Outbox:
    """One SQLite file under the state folder; a connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _tx(self) -> _Tx:
        return _Tx(self._db())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- items -------------------------------------------------------------------------------------------

    def add(self, *, provider: str, dest_key: str, dest_label: str, dest_url: str, notification: dict[str, Any],
            kind: str = "final", fallback_url: str = "", now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (created, updated, kind, provider, dest_key, dest_label, dest_url, "
                "fallback_url, notification, next_try) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (now, now, kind, provider, dest_key, dest_label, dest_url, fallback_url,
                 json.dumps(notification, ensure_ascii=False), now))
            return int(cur.lastrowid or 0)

    def claim(self, lease: float, now: float | None = None, limit: int = 20) -> list[Item]:
        """Take due items for ``lease`` seconds: pending ones, and 'sending' ones whose sender died."""
        now = time.time() if now is None else now
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM outbox WHERE (status='pending' AND next_try<=?) OR status='sending' "
                "ORDER BY next_try, id LIMIT ?", (now, limit)).fetchall()
            rows = [r for r in rows if r["status"] == "pending" or r["lease_until"] < now or _dead(r["owner"])]
            db.executemany("UPDATE outbox SET status='sending', lease_until=?, owner=?, updated=? WHERE id=?",
                           [(now + lease, _me(), now, r["id"]) for r in rows])
        return [Item.from_row(r) for r in rows]

    def update(self, item_id: int, **fields: Any) -> None:
        fields["updated"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE outbox SET {cols} WHERE id=?", (*fields.values(), item_id))

    def get(self, item_id: int) -> Item | None:
        row = self._db().execute("SELECT * FROM outbox WHERE id=?", (item_id,)).fetchone()
        return Item.from_row(row) if row else None

    def items(self, status: str | None = None, limit: int = 50) -> list[Item]:
        """Newest first."""
        where, args = ("WHERE status=?", (status,)) if status else ("", ())
        rows = self._db().execute(f"SELECT * FROM outbox {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [Item.from_row(r) for r in rows.fetchall()]

    def count(self, status: str) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM outbox WHERE status=?", (status,)).fetchone()[0])

    def next_due(self) -> float | None:
        rows = self._db().execute(
            "SELECT status, next_try, lease_until, owner FROM outbox WHERE status IN ('pending','sending')")
        times = [r["next_try"] if r["status"] == "pending" else (0.0 if _dead(r["owner"]) else r["lease_until"])
                 for r in rows.fetchall()]
        return min(times) if times else None

    def requeue_failed(self, now: float | None = None) -> int:
        """Put failed items back in the queue (``%wxnotify retry``)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            cur = db.execute("UPDATE outbox SET status='pending', next_try=?, attempts=0, updated=? "
                             "WHERE status='failed' AND kind='final'", (now, now))
            db.execute("UPDATE outbox SET next_try=? WHERE status='pending'", (now,))
            return cur.rowcount

    # -- calls, for rate limits and quotas -----------------------------------------------------------------

    def log_call(self, dest_key: str, digest: str = "", now: float | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO calls (dest_key, ts, digest) VALUES (?,?,?)",
                       (dest_key, time.time() if now is None else now, digest))

    def calls_since(self, dest_key: str, since: float, digest: str | None = None) -> list[float]:
        sql, args = "SELECT ts FROM calls WHERE dest_key=? AND ts>=?", [dest_key, since]
        if digest is not None:
            sql, args = sql + " AND digest=?", [*args, digest]
        return [r[0] for r in self._db().execute(sql + " ORDER BY ts", args).fetchall()]

    def prune(self, older_than: float) -> None:
        """Forget calls and finished items older than ``older_than`` (pending ones are always kept)."""
        with self._tx() as db:
            db.execute("DELETE FROM calls WHERE ts<?", (older_than,))
            db.execute("DELETE FROM outbox WHERE updated<? AND status IN ('delivered','failed','dropped')",
                       (older_than,))


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(owner: str) -> bool:
    """True when ``owner`` (host:pid) is a process on this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class _Tx:
    """``with`` block running one IMMEDIATE transaction (serialised across processes)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
