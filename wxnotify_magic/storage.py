"""Where the outbox lives: one SQLite file that degrades instead of failing, and says so once (``notify``).

- A corrupt, truncated or wrong-schema file (``prepare`` raises ``sqlite3.DatabaseError``), at start-up or
  while the process runs, is moved aside, kept under a name it shows, and a new one started, which ``carry``
  fills with what can still be read from the old one (and what the process itself still has). A process whose
  file another process moved aside joins the new one the same way.
- When nothing can be written there (a read-only folder, a full disk, a folder that is a file), it carries on
  in memory, with what ``salvage`` can still read from the file; ``SentMarks`` keeps what became of those items
  where it can, so that later runs do not send them again.
- Another process holding the write lock longer than a caller can wait raises ``Busy``.

Every read and write goes through ``read`` and ``write``, which repair the storage and try once more.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from .i18n import tr
from .paths import make_private_dir, open_private

T = TypeVar("T")
Carry = Callable[[sqlite3.Connection | None, sqlite3.Connection, str], None]


class Busy(Exception):
    """Another process holds the write lock for longer than the caller can wait."""


class Store:
    """A SQLite file (a connection per thread), or memory (one connection, one statement at a time).

    A thread's connection lives as long as the thread: a thread that ends ``release()``s it, and one that
    ended without doing so has its connection closed when the next connection opens, so descriptors stay
    bounded by the threads alive, however many come and go.
    """

    def __init__(self, path: Path, prepare: Callable[[sqlite3.Connection], None],
                 salvage: Callable[[sqlite3.Connection | None, sqlite3.Connection], None], timeout: float = 30.0,
                 notify: Callable[[str], None] | None = None, carry: Carry | None = None) -> None:
        """``prepare(db)`` makes or checks the schema; ``salvage(file or None, memory)`` copies what it can;
        ``carry(broken file or None, new file, its name aside)`` fills a file started after a broken one."""
        self.path = path
        self.prepare = prepare
        self.salvage = salvage
        self.carry = carry
        self._inode: int | None = None  # the file this process opened (another process may replace it)
        self.timeout = timeout
        self.notify = notify or say
        self.in_memory = False
        self._local = threading.local()
        self._generation = 0  # bumped when the storage changes: threads reconnect
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}  # the file's, by the thread using it
        self._memory: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # one write (and, in memory, one statement) at a time in this process
        self._registry = threading.Lock()  # guards _connections only (never held across a statement)
        self._open()

    def _open(self) -> None:
        """Open the file (another process making it at the same moment is waited for), else repair."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._open_file()
                return
            except Exception as exc:
                if _kind(exc) != "busy" or time.monotonic() > deadline:
                    self._repair(exc)
                    return
            time.sleep(0.05)

    def _open_file(self) -> None:
        make_private_dir(self.path.parent)
        if any(os.path.islink(f"{self.path}{suffix}") for suffix in JOURNALS):
            raise PlantedLink(tr("a symbolic link (not followed)"))
        if not self.path.exists():
            os.close(open_private(self.path, os.O_WRONLY | os.O_CREAT))
        self._generation += 1
        self.prepare(self.db())  # before WAL, so that a file found broken is kept exactly as it was
        self.db().execute("PRAGMA journal_mode=WAL")
        self._inode = os.stat(self.path).st_ino

    def db(self) -> sqlite3.Connection:
        """This thread's connection (in memory: the one connection; hold ``lock`` around its use)."""
        if self._memory is not None:
            return self._memory
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "generation", None) != self._generation:
            if db is not None:  # the storage changed under this thread: its old connection is of no more use
                self._forget(threading.current_thread(), db)
            self._reap()
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            self._local.db, self._local.generation = db, self._generation
            with self._registry:
                self._connections[threading.current_thread()] = db
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    def release(self) -> None:
        """Close this thread's connection to the file (a thread that ends; the next use opens a new one)."""
        db = getattr(self._local, "db", None)
        self._local.db = self._local.busy_ms = None
        if db is not None and db is not self._memory:
            self._forget(threading.current_thread(), db)

    def _forget(self, thread: threading.Thread, db: sqlite3.Connection) -> None:
        with self._registry:
            if self._connections.get(thread) is db:
                del self._connections[thread]
        with contextlib.suppress(Exception):
            db.close()

    def _reap(self) -> None:
        """Close the connections of threads that ended without releasing them (the main thread counts as ended
        once the interpreter exits, yet its exit handlers still write)."""
        main = threading.main_thread()
        with self._registry:
            ended = [(t, db) for t, db in self._connections.items() if not t.is_alive() and t is not main]
        for thread, db in ended:
            self._forget(thread, db)

    # -- repairs -------------------------------------------------------------------------------------------

    def _repair(self, exc: BaseException) -> None:
        """A corrupt file is moved aside and a new one started, with what ``carry`` can bring over (another
        process that did so first: its new file is joined); anything else (or a failed restart): memory."""
        kind = _kind(exc)
        if kind in ("corrupt", "unwritable"):  # SQLite calls a file moved under its connection read-only
            try:
                replaced = self._replaced()
                if replaced or kind == "corrupt":
                    aside = None if replaced else self._move_aside(exc)
                    self._close_connections()
                    self._open_file()
                    self._carry_over(aside)
                    return
            except Exception as again:
                exc = again
        self._use_memory(exc)

    def _replaced(self) -> bool:
        """True when the file is no more the one this process opened (another process moved it aside)."""
        try:
            return self._inode is not None and os.stat(self.path).st_ino != self._inode
        except OSError:
            return True

    def _carry_over(self, aside: Path | None) -> None:
        """Give ``carry`` the file moved aside (what can still be read of it) and the new file."""
        if self.carry is None:
            return
        source = _read_only(aside) if aside is not None else None
        try:
            self.carry(source, self.db(), aside.name if aside is not None else "")
        finally:
            if source is not None:
                source.close()

    def _move_aside(self, exc: BaseException) -> Path:
        """Keep a corrupt file (and its journal) under a new name, and say where."""
        self._close_connections()
        aside = self.path.with_name(f"{self.path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        if os.path.lexists(aside):  # another one already broke this second
            aside = aside.with_name(f"{aside.name}-{os.getpid()}-{time.monotonic_ns()}")
        for suffix in JOURNALS:
            old = Path(f"{self.path}{suffix}")
            if os.path.lexists(old):
                os.replace(old, Path(f"{aside}{suffix}"))
        self.notify(tr("wxnotify: the outbox {path} could not be read ({why}); kept it as {aside} and started a new "
                       "one", path=self.path, why=_why(exc), aside=aside.name))
        return aside

    def _use_memory(self, exc: BaseException) -> None:
        """Carry on in memory, with what ``salvage`` can still read from the file."""
        memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        memory.row_factory = sqlite3.Row
        self.prepare(memory)
        source = _read_only(self.path)
        try:
            self.salvage(source, memory)
        except Exception:  # nothing readable: start empty
            self.salvage(None, memory)
        finally:
            if source is not None:
                source.close()
        self._close_connections()
        self._memory, self.in_memory = memory, True
        self._generation += 1
        self.notify(tr("wxnotify: cannot write the outbox in {folder} ({why}); sending from memory: pending "
                       "messages will not survive a restart", folder=self.path.parent, why=_why(exc)))

    def use_memory(self, why: str) -> None:
        """Stop waiting for the file (another process keeps it locked): carry on in memory."""
        with self._lock:
            if not self.in_memory:
                self._use_memory(RuntimeError(why))

    def _close_connections(self) -> None:
        with self._registry:
            connections = list(self._connections.values())
            self._connections.clear()
        for db in connections:
            with contextlib.suppress(Exception):
                db.close()

    def _recover(self, exc: BaseException, generation: int) -> bool:
        """After ``exc``: True when the storage was repaired (or already was, by another thread): try again."""
        kind = _kind(exc)
        if kind == "busy":
            raise Busy(tr("the outbox is locked by another process")) from None
        if self._generation != generation:  # another thread changed the storage under this one
            return True
        if kind not in ("corrupt", "unwritable"):
            return False
        with self._lock:
            if self._generation == generation and not self.in_memory:
                self._repair(exc)
            return self._generation != generation

    # -- use -----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The writes of the block (in this thread) make one transaction, begun at the first of them: all of them
        happen, or none (an exception, or the process killed, leaves the file as before)."""
        if getattr(self._local, "batch", None) is not None:  # already in one
            yield
            return
        with self._lock:
            self._local.batch = False  # True once the transaction has begun
            try:
                yield
            except BaseException:
                if self._local.batch:
                    with contextlib.suppress(sqlite3.Error):
                        self.db().execute("ROLLBACK")
                raise
            else:
                if self._local.batch:
                    self.db().execute("COMMIT")
            finally:
                self._local.batch = None

    def write(self, fn: Callable[[sqlite3.Connection], T], wait: float | None = None, atomic: bool = False) -> T:
        """Run ``fn`` in one IMMEDIATE transaction (``atomic``: ``fn`` is a single statement, atomic by itself,
        run without one); ``Busy`` when the lock is not ours within ``wait``. Inside ``batch()``, ``fn`` joins
        the batch's transaction (and a failure is not repaired here: the batch is undone)."""
        if getattr(self._local, "batch", None) is not None:
            db = self.db()
            if not self._local.batch:
                if not self.in_memory:
                    self._busy_timeout(db, self.timeout if wait is None else wait)
                db.execute("BEGIN IMMEDIATE")
                self._local.batch = True
            return fn(db)
        for attempt in (1, 2):
            generation = self._generation
            try:
                return self._transaction(fn, wait, atomic)
            except Busy:
                raise
            except Exception as exc:
                if attempt == 2 or not self._recover(exc, generation):
                    raise
        raise AssertionError("unreachable")

    def _transaction(self, fn: Callable[[sqlite3.Connection], T], wait: float | None, atomic: bool = False) -> T:
        if not self._lock.acquire(timeout=-1 if wait is None else max(0.0, wait)):
            raise Busy(tr("the outbox is locked by another process"))
        try:
            db = self.db()
            if not self.in_memory:  # how long SQLite waits for another process: this caller's wait
                self._busy_timeout(db, self.timeout if wait is None else wait)
            if atomic:
                return fn(db)
            with Tx(db):
                return fn(db)
        finally:
            self._lock.release()

    def _busy_timeout(self, db: sqlite3.Connection, seconds: float) -> None:
        """Set the connection's busy timeout, only when it changes (a cell writes with the same wait each time)."""
        millis = int(seconds * 1000)
        if getattr(self._local, "busy_ms", None) != (id(db), millis):
            db.execute(f"PRAGMA busy_timeout={millis}")
            self._local.busy_ms = (id(db), millis)

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        for attempt in (1, 2):
            generation = self._generation
            try:
                with self._lock if self.in_memory else contextlib.nullcontext():
                    return fn(self.db())
            except Exception as exc:
                if attempt == 2 or _kind(exc) == "busy" or not self._recover(exc, generation):
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close this thread's connection to the file and those of ended threads (memory stays open: it holds
        the data)."""
        self.release()
        self._reap()


def _read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to ``path`` that can read it (even without its -shm), or None."""
    for mode in ("ro", "ro&immutable=1"):
        db = None
        try:
            db = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True)
            db.row_factory = sqlite3.Row
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except Exception:
            if db is not None:
                db.close()
    return None


class SentMarks:
    """Where the fates of a file's items are kept while the file itself cannot be written (read-only, full).

    A file that cannot be written keeps its pending items pending: every later run would send them again. The
    fate of each one this process settles is appended here instead (a small file in the temporary folder, named
    after the outbox), read by every later run before it sends anything, and written into the outbox by the first
    run that can write it again.
    """

    def __init__(self, path: Path) -> None:
        name = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:16]
        base = (os.environ.get("TMPDIR") or "/tmp") if os.name == "posix" else tempfile.gettempdir()
        self.path = Path(base) / f"wxnotify-{_uid()}" / f"unwritable-{name}.marks"

    def read(self) -> dict[tuple[int, float], str]:
        """(id, created) -> status, for every item settled while the file could not be written."""
        try:
            with open(open_private(self.path, os.O_RDONLY), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError:
            return {}
        found: dict[tuple[int, float], str] = {}
        for line in lines:
            with contextlib.suppress(ValueError):
                item_id, created, status = line.split(" ", 2)
                found[int(item_id), float(created)] = status
        return found

    def writable(self) -> bool:
        """True when marks can be kept here (tried by opening the file for appending)."""
        return self.add([])

    def add(self, marks: list[tuple[int, float, str]]) -> bool:
        """Append the fates of some items; False when they could not be kept."""
        text = "".join(f"{item_id} {created!r} {status}\n" for item_id, created, status in marks)
        try:
            make_private_dir(self.path.parent)
            folder = os.lstat(self.path.parent)
            if not stat.S_ISDIR(folder.st_mode) or folder.st_uid != _uid() or folder.st_mode & 0o022:
                return False  # another user's folder: keep nothing there
            fd = open_private(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
            return True
        except OSError:
            return False

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


JOURNALS = ("", "-wal", "-shm", "-journal")  # the database file and the files SQLite keeps beside it


class PlantedLink(OSError):
    """A state file is a symbolic link: never followed (it could send every destination URL into another's file)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.strerror = why


def _kind(exc: BaseException) -> str:
    """What an error says about the storage: busy (locked by another process), corrupt (not our database, or
    damaged, or a symbolic link), unwritable (read-only, full, missing folder) or other."""
    if isinstance(exc, PlantedLink):
        return "corrupt"
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = f"{name} {exc}".lower()
        if "busy" in text or "locked" in text:
            return "busy"
        if any(w in text for w in ("corrupt", "notadb", "malformed", "not a database", "no such table",
                                   "no such column", "has no column")):
            return "corrupt"
        return "other" if isinstance(exc, sqlite3.ProgrammingError) else "unwritable"
    return "unwritable" if isinstance(exc, OSError) else "other"


def _why(exc: BaseException) -> str:
    """A short, secret-free description of a storage error."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc).split("\n", 1)[0][:80] or type(exc).__name__


def say(text: str) -> None:
    """Say one line to the user (standard error)."""
    print(text, file=sys.stderr, flush=True)


class Tx:
    """``with`` block running one IMMEDIATE transaction (serialised across processes)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
            return
        with contextlib.suppress(sqlite3.Error):  # the transaction may be gone already (full disk, closed)
            self.db.execute("ROLLBACK")
