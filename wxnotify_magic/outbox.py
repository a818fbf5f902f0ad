"""The SQLite outbox: every notification is written before it is sent, so nothing is lost.

Several kernels share one file safely: items are claimed with a lease inside ``BEGIN IMMEDIATE``
transactions, and every call a service answered is logged under the keys the service counts it by
(token, bot key, recipient), for the rate limits and daily quotas.

The file degrades instead of failing (``storage.py``: a broken one is moved aside, an unwritable one is
replaced by memory). While another process holds the write lock, ``add(wait=...)`` returns within ``wait`` with
the item queued in memory under a negative id; the next ``claim`` that gets the lock writes it and tells
``on_renamed`` its real id.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .i18n import tr
from .ledger import Check, Ledger, LocalLedger
from .outbox_repair import carry
from .outbox_repair import lost as lost_with_a_broken_file
from .status import TERMINAL, Status
from .storage import Busy, SentMarks, Store, Tx, say

SCHEMA_VERSION = 4

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
    quotas TEXT NOT NULL DEFAULT '{}',
    merged_into INTEGER NOT NULL DEFAULT 0
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
    merged_into: int = 0  # a merged item: the item whose digest carried it

    @classmethod
    def from_row(cls, row: sqlite3.Row | dict[str, Any]) -> Item:
        data = {k: row[k] for k in row.keys() if k not in ("lease_until", "owner")}  # noqa: SIM118
        data["notification"] = json.loads(data["notification"])
        data["quotas"] = json.loads(data["quotas"] or "{}")
        data["status"] = Status(data["status"])
        return cls(**data)

    def __repr__(self) -> str:  # never show dest_url (it holds the token)
        return f"Item(id={self.id}, {self.dest_label}, {self.status}, attempts={self.attempts})"


OutboxBusy = Busy
COLUMNS = ("created", "updated", "kind", "provider", "dest_key", "dest_label", "dest_url", "fallback_url",
           "notification", "next_try", "lane", "quotas")
NEEDED = {"outbox": {"id", "status", "attempts", "parts_done", "reason", "lease_until", "owner", "merged_into",
                     *COLUMNS},
          "calls": {"key", "ts", "digest"}, "lanes": {"lane", "held_until"}}
ADDED_COLUMNS = (("lane", "TEXT NOT NULL DEFAULT ''"), ("quotas", "TEXT NOT NULL DEFAULT '{}'"),  # schema 2
                 ("merged_into", "INTEGER NOT NULL DEFAULT 0"))  # schema 4
SALVAGED_CALLS = 2 * 86400.0  # seconds of call history copied into memory (for the limits)
SETTLED = frozenset(str(s) for s in TERMINAL)  # the statuses an item never leaves, as stored
KEPT_HOLD = 600.0  # a lane held this long is a service's cool-down (policy.COOLDOWN): a retry does not end it


class Outbox:
    """The outbox, over a ``Store``: a file in the state folder, or memory when the file cannot be used."""

    def __init__(self, path: Path, timeout: float = 30.0, notify: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_renamed: Callable[[int, int], None] | None = None  # queued id -> id in the file
        self._queue: list[dict[str, Any]] = []  # items waiting for another process's write lock
        self._queue_lock = threading.Lock()
        self._last_queued = 0
        self._max_id = 0
        self._notify = notify or say
        self._marks = SentMarks(path)  # the fates of the file's items while the file cannot be written
        self._carried: dict[int, float] = {}  # id -> created of the items carried from a file into memory
        self._mine: dict[int, dict[str, Any]] = {}  # this process's unsettled items, carried over a broken file
        self._mine_size = 0  # characters of their notifications
        self.store = Store(path, self._prepare, self._salvage, timeout, notify, self._carry)
        self._write, self._read = self.store.write, self.store.read
        self.ledger: Ledger = LocalLedger(self.store)  # the limits' counts (a shared one: ``redis_ledger``)
        with contextlib.suppress(Exception):  # the ids handed out so far: never given again, whatever happens
            self._max_id = max(self._max_id, int(self._read(lambda db: db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name='outbox'").fetchone()[0])))
        if not self.in_memory and os.path.exists(self._marks.path):
            self._apply_marks()

    @property
    def in_memory(self) -> bool:
        return self.store.in_memory

    def use_memory(self, why: str) -> None:
        """Stop waiting for the file (another process keeps it locked): carry on in memory."""
        self.store.use_memory(why)

    def close(self) -> None:
        self.store.close()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """The writes of the block (in this thread) as one transaction: all of them, or none."""
        return self.store.batch()

    def release(self) -> None:
        """Close this thread's connection (a thread that ends)."""
        self.store.release()

    def _db(self) -> sqlite3.Connection:
        return self.store.db()

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Make or migrate the schema; raise ``sqlite3.DatabaseError`` when the file is damaged or not ours."""
        self._migrate(db)
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
        for table, needed in NEEDED.items():
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if not needed <= have:
                raise sqlite3.DatabaseError(f"no such column in {table}: {', '.join(sorted(needed - have))}")

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        with Tx(db):
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "outbox" in tables:
                columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
                for name, decl in ADDED_COLUMNS:
                    if name not in columns:
                        db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {decl}")
                if version < 2:  # 0.1: calls were keyed by destination
                    db.execute("DROP TABLE IF EXISTS calls")
            for statement in _statements():
                db.execute(statement)
            db.execute("UPDATE outbox SET lane=dest_key WHERE lane=''")
            db.execute("INSERT OR IGNORE INTO lanes (lane) SELECT DISTINCT lane FROM outbox")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _salvage(self, source: sqlite3.Connection | None, memory: sqlite3.Connection) -> None:
        """Copy the pending items (ids kept) and recent calls that ``source`` still has; ids stay unique.

        An item an earlier run settled while the file could not be written (``SentMarks``) is not copied: it is
        not sent again. When no such mark can be kept, no item is copied: each run would send them all again.
        """
        if source is not None:
            rows = source.execute("SELECT * FROM outbox WHERE status IN ('pending','sending')").fetchall()
            settled = self._marks.read()
            rows = [r for r in rows if (r["id"], r["created"]) not in settled]
            if rows and not self._marks.writable():
                self._notify(tr("wxnotify: {n} pending message(s) stay in the outbox until it can be written again "
                                "(sent now, every later run would send them again)", n=len(rows)))
                rows = []
            self._carried.update((int(r["id"]), float(r["created"])) for r in rows)
            calls = source.execute("SELECT key, ts, digest FROM calls WHERE ts>=?",
                                   (time.time() - SALVAGED_CALLS,)).fetchall()
            top = source.execute("SELECT MAX(id) FROM outbox").fetchone()[0] or 0
            names = ("id", "status", "attempts", "parts_done", "reason", *COLUMNS)
            memory.executemany(f"INSERT INTO outbox ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                               [tuple(r[n] for n in names) for r in rows])
            memory.executemany("INSERT INTO calls (key, ts, digest) VALUES (?,?,?)", [tuple(c) for c in calls])
            memory.execute("INSERT OR IGNORE INTO lanes (lane) SELECT DISTINCT lane FROM outbox")
            self._max_id = max(self._max_id, int(top))
        if self._max_id:  # ids already handed out are never given again
            memory.execute("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (self._max_id,))

    def _carry(self, source: sqlite3.Connection | None, db: sqlite3.Connection, aside: str) -> None:
        """Fill a file started after a broken one (``aside``, or moved aside by another process)."""
        self._max_id = carry(source, db, aside, self._max_id, self._mine, COLUMNS)

    def _keep(self, item_id: int, row: dict[str, Any]) -> None:
        """Remember one of this process's unsettled items (a bounded number of them)."""
        self._drop(item_id)
        self._mine[item_id] = row
        self._mine_size += len(row["notification"])
        while len(self._mine) > MINE_KEPT or self._mine_size > MINE_SIZE:
            self._drop(next(iter(self._mine)))

    def _drop(self, item_id: int) -> None:
        """Forget one of this process's items (settled)."""
        row = self._mine.pop(item_id, None)
        if row is not None:
            self._mine_size -= len(row["notification"])

    # -- items -------------------------------------------------------------------------------------------

    @staticmethod
    def _row(at: float, *, provider: str, dest_key: str, dest_label: str, dest_url: str,
             notification: dict[str, Any], kind: str = "final", fallback_url: str = "", lane: str = "",
             quotas: dict[str, int] | None = None, **_: Any) -> dict[str, Any]:
        return dict(zip(COLUMNS, (at, at, kind, provider, dest_key, dest_label, dest_url, fallback_url,
                                  json.dumps(notification, ensure_ascii=False), at, lane or dest_key,
                                  json.dumps(quotas or {})), strict=True))

    def add(self, *, provider: str, dest_key: str, dest_label: str, dest_url: str, notification: dict[str, Any],
            kind: str = "final", fallback_url: str = "", now: float | None = None, lane: str = "",
            quotas: dict[str, int] | None = None, wait: float | None = None) -> int:
        """Write one item and return its id; with ``wait``, an item that cannot be written within ``wait``
        (another process holds the lock) is queued in memory instead, under a negative id."""
        now = time.time() if now is None else now
        row = self._row(now, provider=provider, dest_key=dest_key, dest_label=dest_label, dest_url=dest_url,
                        notification=notification, kind=kind, fallback_url=fallback_url, lane=lane, quotas=quotas)
        try:
            if wait is not None and self._queue:  # this lock episode was waited for once already: queue at once
                raise OutboxBusy(tr("the outbox is locked by another process"))
            return self._write(lambda db: self._insert(db, row), wait, atomic=True)
        except OutboxBusy:
            if wait is None:
                raise
            return self._queue_row(row)

    def _queue_row(self, row: dict[str, Any]) -> int:
        """Keep ``row`` in memory (another process holds the lock) under a negative id; written at the next claim."""
        with self._queue_lock:
            self._last_queued -= 1
            self._queue.append({**row, "id": self._last_queued, "status": "pending", "attempts": 0,
                                "parts_done": 0, "reason": tr("waiting for the outbox: another process is "
                                                              "writing it")})
            return self._last_queued

    def add_claimed(self, lease: float | None, busy_lanes: Iterable[str] = (),
                    **fields: Any) -> tuple[int, Item | None]:
        """``add``, and in the same transaction claim the item for ``lease`` seconds when its lane is free (not
        held, nothing else pending or sending on it, not busy here): a lone message goes out without waiting for
        the next claim. The item is None when it must wait its turn (or was queued in memory, or no ``lease``)."""
        wait = fields.get("wait")
        if lease is None or (wait is not None and self._queue):
            return self.add(**fields), None
        now = time.time() if fields.get("now") is None else fields["now"]
        lane = fields.get("lane") or fields["dest_key"]
        row = self._row(now, **{k: v for k, v in fields.items() if k != "now"})
        busy = set(busy_lanes)

        def insert_and_claim(db: sqlite3.Connection) -> tuple[int, sqlite3.Row | None]:
            item_id = self._insert(db, row)
            if lane in busy or db.execute(LANE_TAKEN, (lane, item_id, now)).fetchone() is not None:
                return item_id, None
            db.execute("UPDATE outbox SET status='sending', lease_until=?, owner=? WHERE id=?",
                       (now + lease, _me(), item_id))
            return item_id, db.execute("SELECT * FROM outbox WHERE id=?", (item_id,)).fetchone()

        try:
            item_id, claimed = self._write(insert_and_claim, wait)
        except OutboxBusy:
            if wait is None:
                raise
            return self._queue_row(row), None
        return item_id, Item.from_row(claimed) if claimed is not None else None

    def _insert(self, db: sqlite3.Connection, row: dict[str, Any]) -> int:
        cur = db.execute(INSERT_ITEM, tuple(row[c] for c in COLUMNS))  # one statement: the trigger adds the lane
        item_id = int(cur.lastrowid or 0)
        self._max_id = max(self._max_id, item_id)
        self._keep(item_id, {**row, "id": item_id, "status": "pending"})
        return item_id

    def claim(self, lease: float, now: float | None = None, limit: int = 20,
              busy_lanes: Iterable[str] = (), wait: float | None = None) -> list[Item]:
        """Take the first due item of up to ``limit`` lanes for ``lease`` seconds: a pending one, or a 'sending'
        one whose sender died or whose lease ran out. A lane held for pacing, busy in this process
        (``busy_lanes``) or being sent by another live sender is left alone; the rest of a lane waits its turn,
        so a burst can be merged into the item sent first. Items queued while another process held the lock
        are written first (``on_renamed`` learns their ids)."""
        now = time.time() if now is None else now
        busy = set(busy_lanes)
        with self._queue_lock:
            queued = list(self._queue)

        def take(db: sqlite3.Connection) -> tuple[list[tuple[int, int]], list[sqlite3.Row]]:
            renamed = [(int(row["id"]), self._insert(db, row)) for row in queued]
            picked: list[sqlite3.Row] = []
            for (lane,) in db.execute(DUE_LANES, (now,)).fetchall():
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
            for r in picked:
                self._keep(r["id"], {**dict(r), "status": "sending", "lease_until": now + lease, "owner": _me()})
            return renamed, picked

        renamed, rows = self._write(take, wait)
        if renamed:
            with self._queue_lock:
                del self._queue[:len(renamed)]
            for old, new in renamed:
                if self.on_renamed is not None:
                    self.on_renamed(old, new)
        return [Item.from_row(r) for r in rows]

    @property
    def queued(self) -> int:
        """How many items wait in memory for another process to release the write lock."""
        return len(self._queue)

    def update(self, item_id: int, **fields: Any) -> None:
        fields["updated"] = time.time()
        cols = ", ".join(f"{k}=?" for k in fields)
        values = [str(v) if isinstance(v, Status) else v for v in fields.values()]
        self._write(lambda db: db.execute(f"UPDATE outbox SET {cols} WHERE id=?", (*values, item_id)))
        settled = str(fields.get("status")) in SETTLED
        if settled:
            self._drop(item_id)
        elif item_id in self._mine:
            self._keep(item_id, {**self._mine[item_id], **dict(zip(fields, values, strict=True))})
        if item_id in self._carried and settled:
            self._mark([item_id], str(fields["status"]))

    def _mark(self, ids: Iterable[int], status: str) -> None:
        """Keep the fate of items carried from a file that cannot be written, so later runs do not send them."""
        if self.in_memory:
            self._marks.add([(i, self._carried[i], status) for i in ids if i in self._carried])

    def _apply_marks(self) -> None:
        """Write into the file the fates settled while it could not be written, then forget them."""
        marks = self._marks.read()
        reason = tr("settled while the outbox could not be written")
        with contextlib.suppress(Exception):  # still unwritable, or busy: the next run applies them
            self._write(lambda db: db.executemany(  # waited for briefly: the next run applies them otherwise
                "UPDATE outbox SET status=?, reason=?, updated=? WHERE id=? AND created=? AND status IN "
                "('pending','sending')", [(status, reason, time.time(), i, created)
                                          for (i, created), status in marks.items()]), wait=1.0)
            if not self.in_memory:
                self._marks.remove()

    def hold_lane(self, lane: str, until: float) -> None:
        """Hold every item of ``lane`` until ``until`` (pacing), in one update."""
        self._write(lambda db: db.execute("INSERT INTO lanes (lane, held_until) VALUES (?, ?) ON CONFLICT(lane) "
                                          "DO UPDATE SET held_until=excluded.held_until", (lane, until)))

    def lane_hold(self, lane: str) -> tuple[float, str]:
        """Until when ``lane`` is held (0 when it is not), and the reason of its first waiting item."""
        def read(db: sqlite3.Connection) -> tuple[float, str]:
            held = db.execute("SELECT held_until FROM lanes WHERE lane=?", (lane,)).fetchone()
            why = db.execute("SELECT reason FROM outbox WHERE lane=? AND status='pending' AND reason!='' "
                             "ORDER BY next_try DESC, id LIMIT 1", (lane,)).fetchone()
            return (float(held[0]) if held else 0.0), (str(why[0]) if why else "")
        return self._read(read)

    def get(self, item_id: int) -> Item | None:
        if item_id < 0:
            return next((Item.from_row(r) for r in list(self._queue) if r["id"] == item_id), None)
        row = self._read(lambda db: db.execute("SELECT * FROM outbox WHERE id=?", (item_id,)).fetchone())
        return Item.from_row(row) if row else None

    def items(self, status: Status | str | None = None, limit: int = 50) -> list[Item]:
        """Newest first (items queued in memory first of all)."""
        where, args = ("WHERE status=?", (str(status),)) if status else ("", ())
        queued = [Item.from_row(r) for r in reversed(list(self._queue)) if status in (None, "pending")]
        rows = self._read(lambda db: db.execute(f"SELECT * FROM outbox {where} ORDER BY id DESC LIMIT ?",
                                                (*args, limit)).fetchall())
        return (queued + [Item.from_row(r) for r in rows])[:limit]

    def take_pending(self, dest_url: str, *, kinds: Sequence[str], status: Status, reason: str,
                     exclude: int | None = None, keep: Sequence[int] = (), limit: int = 500,
                     into: int = 0) -> list[Item]:
        """Atomically settle the pending items of one destination and ``kinds`` as ``status``; return them.

        Used to merge a burst into one message (``MERGED`` ``into`` the item sent) and to drop older progress
        messages (``DROPPED``).
        """
        skip = {*keep, *([exclude] if exclude is not None else [])}
        marks = ",".join("?" * len(kinds))
        if not self._read(lambda db: db.execute(  # most often there is none: no write, no lock
                f"SELECT 1 FROM outbox WHERE status='pending' AND dest_url=? AND kind IN ({marks}) AND id NOT IN "
                f"({','.join('?' * len(skip))}) LIMIT 1", (dest_url, *kinds, *skip)).fetchone()):
            return []

        def take(db: sqlite3.Connection) -> list[sqlite3.Row]:
            rows = db.execute(f"SELECT * FROM outbox WHERE status='pending' AND dest_url=? AND kind IN ({marks}) "
                              "ORDER BY id LIMIT ?", (dest_url, *kinds, limit + len(skip))).fetchall()
            rows = [r for r in rows if r["id"] not in skip][:limit]
            db.executemany("UPDATE outbox SET status=?, reason=?, merged_into=?, updated=? WHERE id=?",
                           [(str(status), reason, into, time.time(), r["id"]) for r in rows])
            return rows

        taken = [Item.from_row(r) for r in self._write(take)]
        for item in taken:
            self._drop(item.id)
        if self._carried:
            self._mark([i.id for i in taken], str(status))
        return taken

    def fates(self, ids: Iterable[int]) -> dict[int, tuple[Status, str, str]]:
        """(status, reason, lane) of those of ``ids`` that have settled, whichever process settled them. A merged
        item shares the fate of the message that carried it: ``MERGED`` once that one is delivered, its failure
        if it failed, and no fate yet while it is still on its way."""
        wanted = [i for i in ids if i > 0]

        def read(db: sqlite3.Connection) -> dict[int, tuple[Status, str, str]]:
            found: dict[int, tuple[Status, str, str]] = {}
            for item_id in wanted:
                row = db.execute("SELECT status, reason, merged_into, lane FROM outbox WHERE id=?",
                                 (item_id,)).fetchone()
                if row is None:
                    lost = lost_with_a_broken_file(db, item_id)
                    if lost:
                        found[item_id] = (Status.FAILED, lost, "")
                    continue
                if Status(row[0]) not in TERMINAL:
                    continue
                status, reason, into = Status(row[0]), row[1], row[2]
                for _ in range(50):  # a digest that failed for a while may itself be merged into a later one
                    carrier = db.execute("SELECT status, reason, merged_into FROM outbox WHERE id=?",
                                         (into,)).fetchone() if status == Status.MERGED and into else None
                    if carrier is None or Status(carrier[0]) == Status.DELIVERED:
                        break
                    if Status(carrier[0]) in (Status.FAILED, Status.DROPPED):
                        status, reason = Status(carrier[0]), carrier[1]
                        break
                    if Status(carrier[0]) != Status.MERGED:  # still pending or being sent
                        status = Status.PENDING
                        break
                    into = carrier[2]
                if status in TERMINAL:
                    found[item_id] = (status, reason, row[3])
            return found

        found = self._read(read) if wanted else {}
        for item_id in found:  # settled by another process
            self._drop(item_id)
        return found

    def count(self, status: Status | str) -> int:
        found = self._read(lambda db: db.execute("SELECT COUNT(*) FROM outbox WHERE status=?",
                                                 (str(status),)).fetchone()[0])
        return int(found) + (len(self._queue) if str(status) == "pending" else 0)

    def unsettled(self) -> int:
        """How many items are still waiting or being sent."""
        return self.count(Status.PENDING) + self.count(Status.SENDING)

    def next_due(self) -> float | None:
        """When the next item may be attempted (by any sender), or None when nothing is pending or sending."""
        def due(db: sqlite3.Connection) -> list[float]:
            first = db.execute(NEXT_DUE).fetchone()[0]
            times = [] if first is None else [first]
            for r in db.execute("SELECT lease_until, owner FROM outbox WHERE status='sending'").fetchall():
                times.append(0.0 if _dead(r["owner"]) else r["lease_until"])
            return times

        times = self._read(due) + [r["next_try"] for r in list(self._queue)]
        return min(times) if times else None

    def requeue_failed(self, now: float | None = None, wait: float | None = None) -> int:
        """Put failed items back in the queue (``%wxnotify retry``), and make pending ones due now; a token
        the service limited keeps its cool-down (a lane held ``KEPT_HOLD`` or longer)."""
        now = time.time() if now is None else now

        def requeue(db: sqlite3.Connection) -> int:
            cur = db.execute("UPDATE outbox SET status='pending', next_try=?, attempts=0, updated=? "
                             "WHERE status='failed' AND kind='final'", (now, now))
            db.execute("UPDATE outbox SET next_try=? WHERE status='pending'", (now,))
            # prune() (any process's sender) forgets the lanes of tokens whose items all failed: claim() walks
            # the lanes, so every lane with a waiting item must be known again
            db.execute("INSERT OR IGNORE INTO lanes (lane) SELECT DISTINCT lane FROM outbox WHERE status='pending'")
            db.execute("UPDATE lanes SET held_until=0 WHERE held_until<?", (now + KEPT_HOLD,))  # pacing ends
            return int(cur.rowcount)

        return self._write(requeue, wait)

    # -- calls, for rate limits and quotas -----------------------------------------------------------------

    def log_call(self, keys: Sequence[str], digest: str = "", now: float | None = None) -> list[Any]:
        """Count one call against each of ``keys``; return the rows (``forget_calls`` them if it got no answer)."""
        return self.ledger.log(keys, digest, now)

    def take_call(self, since: Mapping[str, float], keys: Sequence[str], check: Check, digest: str = "",
                  now: float | None = None) -> list[Any] | None:
        """Check and count one call atomically (see ``ledger.take``): the rows, or None when ``check`` said no."""
        return self.ledger.take(since, keys, check, digest, now)

    def forget_calls(self, ids: Sequence[Any]) -> None:
        self.ledger.forget(ids)

    def stamp_calls(self, ids: Sequence[Any], when: float) -> None:
        """Move calls to the time their answer came (later than they left, never earlier)."""
        self.ledger.stamp(ids, when)

    def calls_since(self, since: Mapping[str, float]) -> dict[str, list[tuple[float, str]]]:
        """For each key, the (time, content digest) of its calls since its own time, oldest first."""
        return self.ledger.calls_since(since)

    def prune(self, older_than: float, wait: float | None = None) -> None:
        """Forget calls and finished items older than ``older_than`` (pending ones are always kept)."""
        def prune(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM calls WHERE ts<?", (older_than,))
            db.execute("DELETE FROM outbox WHERE updated<? AND status IN ('delivered','failed','dropped','merged')",
                       (older_than,))
            db.execute("DELETE FROM lanes WHERE lane NOT IN (SELECT lane FROM outbox WHERE status IN "
                       "('pending','sending'))")

        self._write(prune, wait)


# The lanes with an item due now (or being sent) that no pacing hold keeps, those due longest first. Every lane
# with an item is in ``lanes``: each is looked up in the lane index, so a claim costs the same with ten items
# waiting or ten thousand (grouping the due items themselves read every one of them, for every claim)
DUE_LANES = ("SELECT lane FROM (SELECT l.lane AS lane, "
             "(SELECT MIN(next_try) FROM outbox WHERE lane=l.lane AND status='sending') AS sending, "
             "(SELECT MIN(next_try) FROM outbox WHERE lane=l.lane AND status='pending') AS pending "
             "FROM lanes l WHERE l.held_until<=?1) WHERE sending IS NOT NULL OR pending<=?1 "
             "ORDER BY MIN(COALESCE(sending, 1e308), CASE WHEN pending<=?1 THEN pending ELSE 1e308 END), lane")
# When the first pending item may go: per lane, its first item or the end of its hold, whichever is later
NEXT_DUE = ("SELECT MIN(MAX(first, held_until)) FROM (SELECT l.held_until AS held_until, (SELECT MIN(next_try) "
            "FROM outbox WHERE lane=l.lane AND status='pending') AS first FROM lanes l) WHERE first IS NOT NULL")
# the lane has something else to send, or is held for pacing: a new item there waits its turn
LANE_TAKEN = ("SELECT 1 FROM outbox WHERE lane=?1 AND id<>?2 AND status IN ('pending', 'sending') UNION ALL "
              "SELECT 1 FROM lanes WHERE lane=?1 AND held_until>?3 LIMIT 1")
INSERT_ITEM = f"INSERT INTO outbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# Every lane with an item is known to the lanes table: kept by SQLite itself, so adding an item is one statement
LANE_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS outbox_lane_known AFTER INSERT ON outbox "
                "BEGIN INSERT OR IGNORE INTO lanes (lane) VALUES (NEW.lane); END")


MINE_KEPT, MINE_SIZE = 2000, 64 << 20  # this process's unsettled items remembered in case the file breaks: how
# many at most, and how many characters of notifications


def _statements() -> list[str]:
    return [s.strip() for s in SCHEMA.split(";") if s.strip()] + [LANE_TRIGGER]


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
