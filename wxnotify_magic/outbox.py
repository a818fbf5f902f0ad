"""The SQLite outbox: every notification is written before it is sent, so nothing is lost.

Several kernels share one file safely: items are claimed with a lease inside ``BEGIN IMMEDIATE``
transactions, and every call a service answered is logged under the keys the service counts it by
(token, bot key, recipient), for the rate limits and daily quotas.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import make_private_dir
from .status import Status

SCHEMA_VERSION = 2

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
    reason TEXT NOT NULL DEFAULT '',
    lane TEXT NOT NULL DEFAULT '',
    quotas TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_try);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, status, next_try, id);
CREATE INDEX IF NOT EXISTS outbox_dest ON outbox (dest_url, status);
CREATE TABLE IF NOT EXISTS lanes (lane TEXT PRIMARY KEY, held_until REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS calls (key TEXT NOT NULL, ts REAL NOT NULL, digest TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS calls_key ON calls (key, ts);
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
    status: Status
    attempts: int
    parts_done: int
    next_try: float
    reason: str
    lane: str = ""
    quotas: dict[str, int] | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Item:
        data = {k: row[k] for k in row.keys() if k not in ("lease_until", "owner")}  # noqa: SIM118
        data["notification"] = json.loads(data["notification"])
        data["quotas"] = json.loads(data["quotas"] or "{}")
        data["status"] = Status(data["status"])
        return cls(**data)

    def __repr__(self) -> str:  # never show dest_url (it holds the token)
        return f"Item(id={self.id}, {self.dest_label}, {self.status}, attempts={self.attempts})"


class Outbox:
    """One SQLite file under the state folder; a connection per thread."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        make_private_dir(path.parent)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._migrate()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _migrate(self) -> None:
        db = self._db()
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        with _Tx(db):
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "outbox" in tables and version < 2:  # 0.1: calls keyed by destination; items without lanes
                columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
                for name, decl in (("lane", "TEXT NOT NULL DEFAULT ''"), ("quotas", "TEXT NOT NULL DEFAULT '{}'")):
                    if name not in columns:
                        db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
                db.execute("DROP TABLE IF EXISTS calls")
            for statement in _statements():
                db.execute(statement)
            db.execute("UPDATE outbox SET lane=dest_key WHERE lane=''")
            db.execute("INSERT OR IGNORE INTO lanes (lane) SELECT DISTINCT lane FROM outbox")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _tx(self) -> _Tx:
        return _Tx(self._db())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- items -------------------------------------------------------------------------------------------

    def add(self, *, provider: str, dest_key: str, dest_label: str, dest_url: str, notification: dict[str, Any],
            kind: str = "final", fallback_url: str = "", now: float | None = None, lane: str = "",
            quotas: dict[str, int] | None = None) -> int:
        now = time.time() if now is None else now
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (created, updated, kind, provider, dest_key, dest_label, dest_url, "
                "fallback_url, notification, next_try, lane, quotas) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (now, now, kind, provider, dest_key, dest_label, dest_url, fallback_url,
                 json.dumps(notification, ensure_ascii=False), now, lane or dest_key,
                 json.dumps(quotas or {})))
            db.execute("INSERT OR IGNORE INTO lanes (lane) VALUES (?)", (lane or dest_key,))
            return int(cur.lastrowid or 0)

    def claim(self, lease: float, now: float | None = None, limit: int = 20,
              busy_lanes: Iterable[str] = ()) -> list[Item]:
        """Take the first due item of up to ``limit`` lanes for ``lease`` seconds: a pending one, or a 'sending'
        one whose sender died or whose lease ran out. A lane held for pacing, busy in this process
        (``busy_lanes``) or being sent by another live sender is left alone; the rest of a lane waits its turn,
        so a burst can be merged into the item sent first."""
        now = time.time() if now is None else now
        busy = set(busy_lanes)
        picked: list[sqlite3.Row] = []
        with self._tx() as db:
            for (lane,) in db.execute("SELECT lane FROM lanes WHERE held_until<=?", (now,)).fetchall():
                if lane in busy:
                    continue
                sending = db.execute("SELECT * FROM outbox WHERE lane=? AND status='sending'", (lane,)).fetchall()
                if any(r["lease_until"] >= now and not _dead(r["owner"]) for r in sending):
                    continue  # another sender is on this lane right now
                row = sending[0] if sending else db.execute(
                    "SELECT * FROM outbox WHERE lane=? AND status='pending' AND next_try<=? ORDER BY next_try, id "
                    "LIMIT 1", (lane, now)).fetchone()
                if row is not None:
                    picked.append(row)
                    if len(picked) >= limit:
                        break
            db.executemany("UPDATE outbox SET status='sending', lease_until=?, owner=?, updated=? WHERE id=?",
                           [(now + lease, _me(), now, r["id"]) for r in picked])
        return [Item.from_row(r) for r in picked]

    def update(self, item_id: int, **fields: Any) -> None:
        fields["updated"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        values = [str(v) if isinstance(v, Status) else v for v in fields.values()]
        with self._tx() as db:
            db.execute(f"UPDATE outbox SET {cols} WHERE id=?", (*values, item_id))

    def hold_lane(self, lane: str, until: float) -> None:
        """Hold every item of ``lane`` until ``until`` (pacing), in one update."""
        with self._tx() as db:
            db.execute("INSERT INTO lanes (lane, held_until) VALUES (?, ?) "
                       "ON CONFLICT(lane) DO UPDATE SET held_until=excluded.held_until", (lane, until))

    def get(self, item_id: int) -> Item | None:
        row = self._db().execute("SELECT * FROM outbox WHERE id=?", (item_id,)).fetchone()
        return Item.from_row(row) if row else None

    def items(self, status: Status | str | None = None, limit: int = 50) -> list[Item]:
        """Newest first."""
        where, args = ("WHERE status=?", (str(status),)) if status else ("", ())
        rows = self._db().execute(f"SELECT * FROM outbox {where} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [Item.from_row(r) for r in rows.fetchall()]

    def take_pending(self, dest_url: str, *, kinds: Sequence[str], status: Status, reason: str,
                     exclude: int | None = None, keep: Sequence[int] = (), limit: int = 500) -> list[Item]:
        """Atomically settle the pending items of one destination and ``kinds`` as ``status``; return them.

        Used to merge a burst into one message (``MERGED``) and to drop older progress messages (``DROPPED``).
        """
        skip = {*keep, *([exclude] if exclude is not None else [])}
        marks = ",".join("?" * len(kinds))
        with self._tx() as db:
            rows = db.execute(f"SELECT * FROM outbox WHERE status='pending' AND dest_url=? AND kind IN ({marks}) "
                              "ORDER BY id LIMIT ?", (dest_url, *kinds, limit + len(skip))).fetchall()
            rows = [r for r in rows if r["id"] not in skip][:limit]
            db.executemany("UPDATE outbox SET status=?, reason=?, updated=? WHERE id=?",
                           [(str(status), reason, time.time(), r["id"]) for r in rows])
        return [Item.from_row(r) for r in rows]

    def count(self, status: Status | str) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM outbox WHERE status=?", (str(status),)).fetchone()[0])

    def unsettled(self) -> int:
        """How many items are still waiting or being sent."""
        return self.count(Status.PENDING) + self.count(Status.SENDING)

    def next_due(self) -> float | None:
        """When the next item may be attempted (by any sender), or None when nothing is pending or sending."""
        db = self._db()
        times = []
        for lane, held in db.execute("SELECT lane, held_until FROM lanes").fetchall():
            first = db.execute("SELECT MIN(next_try) FROM outbox WHERE lane=? AND status='pending'",
                               (lane,)).fetchone()[0]
            if first is not None:
                times.append(max(first, held))
        for r in db.execute("SELECT lease_until, owner FROM outbox WHERE status='sending'").fetchall():
            times.append(0.0 if _dead(r["owner"]) else r["lease_until"])
        return min(times) if times else None

    def requeue_failed(self, now: float | None = None) -> int:
        """Put failed items back in the queue (``%wxnotify retry``), and make pending ones due now."""
        now = time.time() if now is None else now
        with self._tx() as db:
            cur = db.execute("UPDATE outbox SET status='pending', next_try=?, attempts=0, updated=? "
                             "WHERE status='failed' AND kind='final'", (now, now))
            db.execute("UPDATE outbox SET next_try=? WHERE status='pending'", (now,))
            db.execute("UPDATE lanes SET held_until=0")
            return cur.rowcount

    # -- calls, for rate limits and quotas -----------------------------------------------------------------

    def log_call(self, keys: Sequence[str], digest: str = "", now: float | None = None) -> list[int]:
        """Count one call against each of ``keys``; return the rows (``forget_calls`` them if it got no answer)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            ids = []
            for key in dict.fromkeys(keys):
                cur = db.execute("INSERT INTO calls (key, ts, digest) VALUES (?,?,?)", (key, now, digest))
                ids.append(int(cur.lastrowid or 0))
            return ids

    def forget_calls(self, ids: Sequence[int]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM calls WHERE rowid=?", [(i,) for i in ids])

    def stamp_calls(self, ids: Sequence[int], when: float) -> None:
        """Move calls to the time their answer came (later than they left, never earlier)."""
        with self._tx() as db:
            db.executemany("UPDATE calls SET ts=MAX(ts, ?) WHERE rowid=?", [(when, i) for i in ids])

    def calls_since(self, since: Mapping[str, float]) -> dict[str, list[tuple[float, str]]]:
        """For each key, the (time, content digest) of its calls since its own time, oldest first."""
        db = self._db()
        return {key: [(ts, digest) for ts, digest in db.execute(
            "SELECT ts, digest FROM calls WHERE key=? AND ts>=? ORDER BY ts", (key, start)).fetchall()]
            for key, start in since.items()}

    def prune(self, older_than: float) -> None:
        """Forget calls and finished items older than ``older_than`` (pending ones are always kept)."""
        with self._tx() as db:
            db.execute("DELETE FROM calls WHERE ts<?", (older_than,))
            db.execute("DELETE FROM outbox WHERE updated<? AND status IN ('delivered','failed','dropped','merged')",
                       (older_than,))
            db.execute("DELETE FROM lanes WHERE lane NOT IN (SELECT lane FROM outbox WHERE status IN "
                       "('pending','sending'))")


def _statements() -> list[str]:
    return [s.strip() for s in SCHEMA.split(";") if s.strip()]


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
