"""The limits ledger in Redis, shared by every host and process of a group (``WXNOTIFY_LEDGER=redis://host/0``).

- Every rate and daily quota is counted under the same ``LimitKey`` as on one host, and room is checked and
  taken atomically: the sender reads the calls with a version per key, decides, then one Lua script counts the
  call only if no key changed in between (else it reads again).
- Redis holds no secret: each key is an HMAC of the (already hashed) limit key, keyed by an application salt
  and the Redis URL's password, which every host of the group shares; values are times, content digests and
  a process tag.
- The host's own ledger is kept as a mirror of its calls. When Redis cannot be reached (or dies mid-run) the
  sender counts there, says so in one line, tries Redis again every few seconds, and on its return says so and
  copies the calls made meanwhile into it. Messages live in the host's outbox either way: nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .i18n import tr
from .ledger import Calls, Check, Ledger, LocalLedger
from .redact import redact

PREFIX = "wxnotify:"
SALT = b"wxnotify-magic limits ledger v1"
KEEP = 2 * 86400 + 3600  # seconds a call is kept (the longest limit is a day)
TIMEOUT = 0.5  # seconds to connect or to wait for an answer
RETRY = 5.0  # seconds between attempts to reach Redis again
CONFLICTS = 50  # reads and takes in a row that another writer beat, before counting locally this time

# KEYS: (calls, version) per key; ARGV: time, member, keep, oldest, then (expected version or '', counted 0/1)
TAKE = """
local n = #KEYS / 2
for i = 1, n do
  local want = ARGV[3 + 2 * i]
  if want ~= '' and (redis.call('GET', KEYS[2 * i]) or '0') ~= want then return 0 end
end
for i = 1, n do
  if ARGV[4 + 2 * i] == '1' then
    redis.call('ZADD', KEYS[2 * i - 1], ARGV[1], ARGV[2])
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i - 1], '-inf', '(' .. ARGV[4])
    redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[3])
    redis.call('INCR', KEYS[2 * i])
    redis.call('EXPIRE', KEYS[2 * i], ARGV[3])
  end
end
return 1
"""
# KEYS: (calls, version) per key; ARGV: member, and a time to move it to (later only), or '' to remove it
CHANGE = """
for i = 1, #KEYS / 2 do
  if ARGV[2] == '' then
    redis.call('ZREM', KEYS[2 * i - 1], ARGV[1])
  else
    local was = redis.call('ZSCORE', KEYS[2 * i - 1], ARGV[1])
    if was and tonumber(was) < tonumber(ARGV[2]) then redis.call('ZADD', KEYS[2 * i - 1], ARGV[2], ARGV[1]) end
  end
  redis.call('INCR', KEYS[2 * i])
end
return 1
"""


class Beaten(Exception):
    """Another writer changed a key between this read and this take."""


@dataclass(frozen=True)
class RedisRow:
    """One call counted in Redis: its member under each of the (hashed) keys."""

    names: tuple[str, ...]
    member: str


class RedisLedger:
    """The counts in one Redis database; every method raises the client's errors (``SharedLedger`` handles them)."""

    def __init__(self, url: str, client: Any = None) -> None:
        import redis  # the [redis] extra; imported only when a shared ledger is set

        self.url = url
        self.client = client or redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        self.secret = SALT + (urlsplit(url).password or "").encode()
        self._take = self.client.register_script(TAKE)
        self._change = self.client.register_script(CHANGE)
        self._tag = secrets.token_hex(6)  # this process, in the members it writes
        self._count = itertools.count()
        self._seen = threading.local()  # this thread's last read: {key: (since, version, calls)}

    def name(self, key: str) -> str:
        """The Redis name of a limit key: a keyed hash, never the key (or a token) itself."""
        return PREFIX + hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()[:32]

    def ping(self) -> None:
        self.client.ping()

    def read(self, since: Mapping[str, float]) -> tuple[Calls, dict[str, str]]:
        """The calls of each key since its time, and each key's version, read together (MULTI: no write comes
        between a key's calls and its version)."""
        pipe = self.client.pipeline(transaction=True)
        for key, start in since.items():
            pipe.zrangebyscore(self.name(key), start, "+inf", withscores=True)
            pipe.get(self.name(key) + ":v")
        answers = pipe.execute()
        calls, versions = {}, {}
        for i, key in enumerate(since):
            members, version = answers[2 * i], answers[2 * i + 1]
            calls[key] = [(float(ts), _digest(m)) for m, ts in members]
            versions[key] = (version or b"0").decode()
        self._seen.last = {key: (start, versions[key], calls[key]) for key, start in since.items()}
        return calls, versions

    def _last_read(self, since: Mapping[str, float]) -> tuple[Calls, dict[str, str]] | None:
        """What this thread last read, when it covers ``since`` (the sender reads to decide, then takes)."""
        last = getattr(self._seen, "last", None) or {}
        if not since or any(key not in last or last[key][0] > start for key, start in since.items()):
            return None
        return {k: last[k][2] for k in since}, {k: last[k][1] for k in since}

    def calls_since(self, since: Mapping[str, float]) -> Calls:
        return self.read(since)[0]

    def take(self, since: Mapping[str, float], keys: Sequence[str], check: Check | None, digest: str,
             now: float) -> RedisRow | None:
        """Count one call against ``keys`` if ``check`` allows it on the calls as they are (atomic)."""
        seen = self._last_read(since) if check is not None else None
        for _ in range(CONFLICTS):
            versions: dict[str, str] = {}
            if check is not None:  # what the sender just read, if nothing changed since (the script checks)
                calls, versions = seen if seen is not None and check(seen[0]) else self.read(since)
                seen = None
                if not check(calls):
                    return None
            row = self._put(keys, versions, digest, now)
            if row is not None:
                return row
            time.sleep(0.001)
        raise Beaten(tr("the shared ledger is too busy"))

    def _put(self, keys: Sequence[str], versions: Mapping[str, str], digest: str, now: float) -> RedisRow | None:
        involved = list(dict.fromkeys([*versions, *keys]))
        member = f"{digest}|{self._tag}-{next(self._count)}"
        names: list[str] = []
        args: list[str] = [repr(now), member, str(KEEP), repr(now - KEEP)]
        for key in involved:
            names += [self.name(key), self.name(key) + ":v"]
            args += [versions.get(key, ""), "1" if key in keys else "0"]
        if not self._take(keys=names, args=args):
            return None
        return RedisRow(tuple(self.name(k) for k in dict.fromkeys(keys)), member)

    def change(self, row: RedisRow, when: float | None) -> None:
        """Remove the call (``when`` None) or move it later to ``when``."""
        names = [n for name in row.names for n in (name, name + ":v")]
        self._change(keys=names, args=[row.member, "" if when is None else repr(when)])

    # -- once-per-job claims -----------------------------------------------------------------------------

    def first(self, name: str, ttl: float) -> bool:
        return bool(self.client.set(self.name("claim|" + name), "1", nx=True, ex=max(1, int(ttl))))

    def add(self, name: str, member: str, ttl: float) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(self.name("members|" + name), member)
        pipe.expire(self.name("members|" + name), max(1, int(ttl)))
        pipe.execute()

    def members(self, name: str) -> list[str]:
        found = [_text(m) for m in self.client.smembers(self.name("members|" + name))]
        return sorted(found, key=lambda r: (len(r), r))


def _digest(member: bytes) -> str:
    return _text(member).split("|", 1)[0]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class _Outage:
    """Calls counted on this host while Redis could not be reached, copied into it when it is back."""

    calls: dict[int, tuple[tuple[str, ...], float, str]] = field(default_factory=dict)  # local row -> call


class SharedLedger:
    """Redis when it answers, this host's ledger when it does not; the host's ledger mirrors every call."""

    def __init__(self, url: str, local: LocalLedger, notify: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.local = local
        self.notify = notify or _say
        self.clock = clock
        self._lock = threading.Lock()
        self._redis: RedisLedger | None = None
        self._down = False
        self._retry_at = 0.0
        self._outage = _Outage()
        self._missing = False  # the redis package is not installed

    def where(self) -> str:
        shown = _shown(self.url)
        if self._missing:
            return tr("this host (the redis package is missing for {url})", url=shown)
        return tr("this host ({url} cannot be reached)", url=shown) if self._down else shown

    # -- choosing Redis or the local ledger --------------------------------------------------------------

    def _remote(self) -> RedisLedger | None:
        """Redis, when it is to be tried now; None while it is known to be down (until the next try)."""
        with self._lock:
            if self._missing or (self._down and self.clock() < self._retry_at):
                return None
            if self._redis is not None:
                return self._redis
            try:
                self._redis = RedisLedger(self.url)
                return self._redis
            except ImportError:
                self._missing = True
                self.notify(tr("wxnotify: WXNOTIFY_LEDGER needs the redis package (pip install "
                               "'wxnotify-magic[redis]'); counting limits on this host only"))
                return None
            except Exception as exc:  # a URL the client refuses: said once, tried again now and then
                problem = exc
        self._failed(problem)
        return None

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = self.clock() + RETRY
            if not self._down:
                self._down = True
                self.notify(tr("wxnotify: the shared ledger {url} cannot be reached ({why}); counting limits on "
                               "this host until it is back", url=_shown(self.url), why=_why(exc)))

    def _back(self, redis: RedisLedger) -> None:
        """Redis answered: if it was down, say so and copy in the calls made meanwhile."""
        with self._lock:
            if not self._down:
                return
            self._down = False
            backlog, self._outage = self._outage, _Outage()
        try:
            while backlog.calls:
                row, (keys, when, digest) = next(iter(backlog.calls.items()))
                redis.take({}, keys, None, digest, when)
                del backlog.calls[row]
        except Exception:
            with self._lock:  # down again: what is left is copied the next time
                self._outage.calls.update(backlog.calls)
            raise
        self.notify(tr("wxnotify: the shared ledger {url} is back; counting limits there again",
                       url=_shown(self.url)))

    def _use(self, remote: Callable[[RedisLedger], Any], local: Callable[[], Any]) -> Any:
        redis = self._remote()
        if redis is not None:
            try:
                if self._down:
                    redis.ping()
                    self._back(redis)
                return remote(redis)
            except Beaten:  # writers kept beating this one to it: count this call on this host
                pass
            except Exception as exc:  # unreachable, died, timed out: count on this host until it is back
                self._failed(exc)
        return local()

    # -- the ledger -----------------------------------------------------------------------------------------

    def calls_since(self, since: Mapping[str, float]) -> Calls:
        return self._use(lambda r: r.calls_since(since), lambda: self.local.calls_since(since))

    def log(self, keys: Sequence[str], digest: str = "", now: float | None = None) -> list[Any]:
        when = time.time() if now is None else now
        return self.take({}, keys, lambda _: True, digest, when) or []

    def take(self, since: Mapping[str, float], keys: Sequence[str], check: Check, digest: str = "",
             now: float | None = None) -> list[Any] | None:
        when = time.time() if now is None else now

        def remote(redis: RedisLedger) -> list[Any] | None:
            row = redis.take(since, keys, check, digest, when)
            return None if row is None else [row, *self.local.log(keys, digest, when)]

        def local() -> list[Any] | None:
            rows = self.local.take(since, keys, check, digest, when)
            if rows:  # one call (one row per key): copied to Redis once, under its first row
                with self._lock:
                    self._outage.calls[rows[0]] = (tuple(dict.fromkeys(keys)), when, digest)
            return rows

        return self._use(remote, local)

    def forget(self, rows: Sequence[Any]) -> None:
        self._change(rows, None)

    def stamp(self, rows: Sequence[Any], when: float) -> None:
        self._change(rows, when)

    def _change(self, rows: Sequence[Any], when: float | None) -> None:
        mine = [r for r in rows if isinstance(r, int)]
        with self._lock:  # a call of the outage that got no answer is not copied to Redis; an answered one moves
            for row in mine:
                call = self._outage.calls.pop(row, None)
                if call is not None and when is not None:
                    self._outage.calls[row] = (call[0], max(call[1], when), call[2])
        if mine:
            (self.local.forget(mine) if when is None else self.local.stamp(mine, when))
        for row in rows:
            if isinstance(row, RedisRow):
                self._change_remote(row, when)

    def _change_remote(self, row: RedisRow, when: float | None) -> None:
        self._use(lambda r: r.change(row, when), lambda: None)

    def first(self, name: str, ttl: float) -> bool:
        return self._use(lambda r: r.first(name, ttl), lambda: self.local.first(name, ttl))

    def add(self, name: str, member: str, ttl: float) -> None:
        self._use(lambda r: r.add(name, member, ttl), lambda: self.local.add(name, member, ttl))

    def members(self, name: str) -> list[str]:
        return self._use(lambda r: r.members(name), lambda: self.local.members(name))


def shared(current: Ledger, url: str) -> Ledger:
    """The ledger for ``url`` (``redis://...``; '' for this host's own), keeping ``current`` when it is that one."""
    local: Ledger = getattr(current, "local", current)
    if not url:
        return local
    if getattr(current, "url", None) == url:
        return current
    assert isinstance(local, LocalLedger)
    return SharedLedger(url, local)


def _shown(url: str) -> str:
    """The Redis URL as status shows it: no password, no user."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _why(exc: BaseException) -> str:
    """A one-line, secret-free reason (the client's messages name only host and port)."""
    text = redact(str(exc).split("\n", 1)[0][:120])
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def environment_url() -> str:
    return os.environ.get("WXNOTIFY_LEDGER", "").strip()
