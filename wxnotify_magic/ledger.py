"""The limits ledger: the calls each service answered, counted by what the service counts them by (``LimitKey.key``:
a token's rate, a UID's day), and the once-per-job claims of distributed ranks.

Room is checked and taken in one step (``take``): the check runs on the calls as they are at that moment and
the call is counted before anyone else can look, so lanes sending in parallel (one UID behind several app
tokens), or processes and hosts sharing a token, never both get the last of a quota.

- ``LocalLedger``: the ``calls`` table of this host's outbox (one SQLite IMMEDIATE transaction per take).
- ``redis_ledger.SharedLedger``: the same counts in Redis, shared by every host of a group (``WXNOTIFY_LEDGER``),
  with the local ledger kept as a mirror and used whenever Redis cannot be reached.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .i18n import tr
from .storage import Store

Calls = dict[str, list[tuple[float, str]]]  # key -> (time, content digest) of its calls, oldest first
Check = Callable[[Calls], bool]  # True when one more call may go out, judged on the calls as they are


class Ledger(Protocol):
    """What the sender and the status need from a ledger. A row is an opaque handle on one counted call."""

    def calls_since(self, since: Mapping[str, float]) -> Calls: ...

    def peek(self, since: Mapping[str, float]) -> Calls | None: ...

    def log(self, keys: Sequence[str], digest: str = "", now: float | None = None) -> list[Any]: ...

    def take(self, since: Mapping[str, float], keys: Sequence[str], check: Check, digest: str = "",
             now: float | None = None) -> list[Any] | None: ...

    def forget(self, rows: Sequence[Any]) -> None: ...

    def stamp(self, rows: Sequence[Any], when: float) -> None: ...

    def first(self, name: str, ttl: float) -> bool: ...

    def add(self, name: str, member: str, ttl: float) -> None: ...

    def members(self, name: str) -> list[str]: ...

    def where(self) -> str: ...


class LocalLedger:
    """The ledger in this host's outbox file (its ``calls`` table); claims are files in ``claims``."""

    def __init__(self, store: Store, claims: Path | None = None) -> None:
        self.store = store
        self.claims = claims or store.path.parent / "claims"

    def where(self) -> str:
        return tr("this host")

    def calls_since(self, since: Mapping[str, float]) -> Calls:
        return self.store.read(lambda db: _read(db, since))

    def peek(self, since: Mapping[str, float]) -> Calls | None:
        """The calls as this process last knew them, when that is cheaper than ``calls_since`` and ``take``
        checks them anyway; None here (reading this host's file is as cheap)."""
        return None

    def log(self, keys: Sequence[str], digest: str = "", now: float | None = None) -> list[Any]:
        """Count one call against each of ``keys``; return the rows (``forget`` them if it got no answer)."""
        when = time.time() if now is None else now
        return self.store.write(lambda db: _insert(db, keys, digest, when))

    def take(self, since: Mapping[str, float], keys: Sequence[str], check: Check, digest: str = "",
             now: float | None = None) -> list[Any] | None:
        """In one transaction: read the calls since ``since``, and when ``check`` allows, count one call against
        each of ``keys``; the rows, or None when ``check`` said no."""
        when = time.time() if now is None else now

        def take(db: sqlite3.Connection) -> list[Any] | None:
            return _insert(db, keys, digest, when) if check(_read(db, since)) else None

        return self.store.write(take)

    def forget(self, rows: Sequence[Any]) -> None:
        self.store.write(lambda db: db.executemany("DELETE FROM calls WHERE rowid=?", [(i,) for i in rows]))

    def stamp(self, rows: Sequence[Any], when: float) -> None:
        """Move calls to the time their answer came (later than they left, never earlier)."""
        self.store.write(lambda db: db.executemany("UPDATE calls SET ts=MAX(ts, ?) WHERE rowid=?",
                                                   [(when, i) for i in rows]))

    # -- once-per-job claims (files: atomic across the processes of this host) ----------------------------

    def first(self, name: str, ttl: float) -> bool:
        """True for the first caller of ``name`` (until ``ttl`` seconds after it claimed it)."""
        folder = self._folder(name, ttl)
        try:
            os.close(os.open(folder / "first", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def add(self, name: str, member: str, ttl: float) -> None:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self._folder(name, ttl) / f"m-{_safe(member)}", os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                             0o600))

    def members(self, name: str) -> list[str]:
        folder = self.claims / _safe(name)
        return sorted(p.name[2:] for p in folder.glob("m-*")) if folder.is_dir() else []

    def _folder(self, name: str, ttl: float) -> Path:
        from .paths import make_private_dir

        folder = self.claims / _safe(name)
        make_private_dir(folder)
        now = time.time()
        for old in self.claims.iterdir():  # forget claims older than their time
            with contextlib.suppress(OSError):
                if old != folder and now - old.stat().st_mtime > ttl:
                    for f in old.iterdir():
                        f.unlink()
                    old.rmdir()
        return folder


def _read(db: sqlite3.Connection, since: Mapping[str, float]) -> Calls:
    return {key: [(ts, digest) for ts, digest in db.execute(
        "SELECT ts, digest FROM calls WHERE key=? AND ts>=? ORDER BY ts", (key, start)).fetchall()]
        for key, start in since.items()}


def _insert(db: sqlite3.Connection, keys: Sequence[str], digest: str, when: float) -> list[Any]:
    return [int(db.execute("INSERT INTO calls (key, ts, digest) VALUES (?,?,?)", (key, when, digest)).lastrowid or 0)
            for key in dict.fromkeys(keys)]


def _safe(value: str) -> str:
    return re.sub(r"[^\w.-]", "_", value)[:80]


def me() -> str:
    """This process, as a claim or a call names it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"
