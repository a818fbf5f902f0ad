"""The limits ledger in Redis, shared by every host and process of a group (``WXNOTIFY_LEDGER=redis://host/0``).

- Every rate and daily quota is counted under the same ``LimitKey`` as on one host, and room is checked and
  taken atomically: the sender decides on the calls with a version per key as this process last knew them,
  then one Lua script counts the call only if no key changed since (else it answers them as they are, and the
  sender decides again): one round trip a send when no other writer came between.
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
from .redis_wire import Script, Wire

PREFIX = "wxnotify:"
SALT = b"wxnotify-magic limits ledger v1"
KEEP = 2 * 86400 + 3600  # seconds a call is kept (the longest limit is a day)
TIMEOUT = 0.5  # seconds to connect or to wait for an answer
RETRY = 5.0  # seconds between attempts to reach Redis again
VIEW_SIZE = 4096  # keys a process remembers the last state of
CONFLICTS = 50  # reads and takes in a row that another writer beat, before counting locally this time

# KEYS: (calls, version) per key; ARGV: time, member, keep, oldest, new version, then per key: the version the
# caller saw ('' when it read nothing), counted 0/1, and the time its calls were read from ('' when not read).
# Counts the call and answers {1} when no key changed since the caller saw it, else counts nothing and answers
# {0, then each read key's version and calls since its time}: the read the caller needs to decide again, in the
# same trip.
TAKE = Script("""
local n = #KEYS / 2
for i = 1, n do
  local want = ARGV[3 + 3 * i]
  if want ~= '' and (redis.call('GET', KEYS[2 * i]) or '0') ~= want then
    local out = {0}
    for j = 1, n do
      local start = ARGV[5 + 3 * j]
      if start ~= '' then
        out[#out + 1] = redis.call('GET', KEYS[2 * j]) or '0'
        out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[2 * j - 1], start, '+inf', 'WITHSCORES')
      end
    end
    return out
  end
end
for i = 1, n do
  if ARGV[4 + 3 * i] == '1' then
    redis.call('ZADD', KEYS[2 * i - 1], ARGV[1], ARGV[2])
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i - 1], '-inf', '(' .. ARGV[4])
    redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[3])
    redis.call('SET', KEYS[2 * i], ARGV[5], 'EX', ARGV[3])
  end
end
return {1}
""")
# KEYS: (calls, version) per key; ARGV: the time to read each key's calls from. Answers each key's version and
# calls, read together.
READ = Script("""
local out = {}
for i = 1, #KEYS / 2 do
  out[#out + 1] = redis.call('GET', KEYS[2 * i]) or '0'
  out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[2 * i - 1], ARGV[i], '+inf', 'WITHSCORES')
end
return out
""")
# KEYS: (calls, version) per key; ARGV: member, a time to move it to (later only) or '' to remove it, keep, new
# version, then per key the version the caller knew ('' none). A key whose version was another gets the new
# version marked '~': one the caller does not expect (it knew the key without the writes that came between).
CHANGE = Script("""
for i = 1, #KEYS / 2 do
  if ARGV[2] == '' then
    redis.call('ZREM', KEYS[2 * i - 1], ARGV[1])
  else
    local was = redis.call('ZSCORE', KEYS[2 * i - 1], ARGV[1])
    if was and tonumber(was) < tonumber(ARGV[2]) then redis.call('ZADD', KEYS[2 * i - 1], ARGV[2], ARGV[1]) end
  end
  local version = ARGV[4]
  if ARGV[4 + i] == '' or (redis.call('GET', KEYS[2 * i]) or '0') ~= ARGV[4 + i] then version = version .. '~' end
  redis.call('SET', KEYS[2 * i], version, 'EX', ARGV[3])
end
return 1
""")


class Beaten(Exception):
    """Another writer changed a key between this read and this take."""


@dataclass(frozen=True)
class RedisRow:
    """One call counted in Redis: its member under each of the keys."""

    keys: tuple[str, ...]
    member: str


@dataclass(frozen=True)
class _Seen:
    """What this process last knew of one key: its version, and its calls since ``since`` as (time, member)."""

    since: float
    version: str
    calls: tuple[tuple[float, str], ...]


Known = tuple[Calls, dict[str, str]]  # calls and version of each key


class RedisLedger:
    """The counts in one Redis database; every method raises the client's errors (``SharedLedger`` handles them).

    One round trip a send, where nothing else wrote: the process remembers what it last knew of each key (its
    version and calls, ``known``), the sender decides on that, and the take's script counts the call only if
    no key changed since; else it answers the keys as they are, in the same trip, and the sender decides again.
    A version is the unique tag of the last write (never a counter: a restarted Redis cannot repeat one).
    """

    def __init__(self, url: str, client: Any = None) -> None:
        import redis  # the [redis] extra; imported only when a shared ledger is set

        self.url = url
        self.client = client or redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        self.secret = SALT + (urlsplit(url).password or "").encode()
        self._wire = Wire(self.client)  # one round trip a script; changes told ahead of the next one
        self._tag = secrets.token_hex(6)  # this process, in the members and versions it writes
        self._count = itertools.count()
        self._names: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._view: dict[str, _Seen] = {}  # what this process last knew of each key

    def name(self, key: str) -> str:
        """The Redis name of a limit key: a keyed hash, never the key (or a token) itself."""
        return self._pair(key)[0]

    def _pair(self, key: str) -> tuple[str, str]:
        """The names of a key's calls and of its version (computed once a process)."""
        pair = self._names.get(key)
        if pair is None:
            if len(self._names) >= 4 * VIEW_SIZE:
                self._names.clear()
            name = PREFIX + hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()[:32]
            pair = self._names[key] = (name, name + ":v")
        return pair

    def _unique(self) -> str:
        return f"{self._tag}-{next(self._count)}"

    def ping(self) -> None:
        self.client.ping()

    # -- reading ------------------------------------------------------------------------------------------

    def read(self, since: Mapping[str, float]) -> Known:
        """The calls of each key since its time, and each key's version, read together (one script)."""
        keys = list(since)
        answer = self._wire.run(READ, [n for k in keys for n in self._pair(k)], [repr(since[k]) for k in keys])
        self._learn(keys, since, answer)
        return self.known(since)

    def calls_since(self, since: Mapping[str, float]) -> Calls:
        return self.read(since)[0]

    def known(self, since: Mapping[str, float]) -> Known:
        """The calls and versions as this process last knew them, without asking Redis; a key it knows nothing
        of (or not from that far back) as empty, version '0' (a key with calls has another version: the take
        finds out)."""
        calls: Calls = {}
        versions: dict[str, str] = {}
        with self._lock:
            for key, start in since.items():
                seen = self._view.get(key)
                if seen is None or seen.since > start:
                    calls[key], versions[key] = [], "0"
                else:
                    calls[key] = sorted(((t, _digest(m)) for t, m in seen.calls if t >= start), key=_time)
                    versions[key] = seen.version
        return calls, versions

    def _learn(self, keys: Sequence[str], since: Mapping[str, float], answer: Sequence[Any]) -> None:
        """Remember what Redis answered: per key its version, then its calls since its time (member, score...)."""
        with self._lock:
            for i, key in enumerate(keys):
                version, flat = _text(answer[2 * i]), answer[2 * i + 1]
                calls = tuple((float(flat[j + 1]), _text(flat[j])) for j in range(0, len(flat), 2))
                start = float("-inf") if version == "0" and not calls else since[key]  # no key: no calls at all
                self._remember(key, _Seen(start, version, calls))

    def _remember(self, key: str, seen: _Seen | None) -> None:
        self._view.pop(key, None)
        if seen is not None:
            self._view[key] = seen
            if len(self._view) > VIEW_SIZE:  # the keys least recently written go first
                del self._view[next(iter(self._view))]

    # -- counting -----------------------------------------------------------------------------------------

    def take(self, since: Mapping[str, float], keys: Sequence[str], check: Check | None, digest: str,
             now: float) -> RedisRow | None:
        """Count one call against ``keys`` if ``check`` allows it on the calls as they are (atomic); without a
        check, count it whatever the calls."""
        member = f"{digest}|{self._unique()}"
        if check is None:
            self._put({}, {}, keys, member, now)
            return RedisRow(tuple(dict.fromkeys(keys)), member)
        calls, versions = self.known(since)
        verified = False  # the calls are as Redis just answered them (not only as this process last knew)
        for attempt in range(CONFLICTS):
            if not check(calls):
                if verified:
                    return None
                calls, versions = self.read(since)
                verified = True
                continue
            answer = self._put(since, versions, keys, member, now)
            if answer is None:
                return RedisRow(tuple(dict.fromkeys(keys)), member)
            calls, versions = answer
            verified = True
            if attempt:  # beaten by another writer again: let it finish
                time.sleep(0.001)
        raise Beaten(tr("the shared ledger is too busy"))

    def _put(self, since: Mapping[str, float], versions: Mapping[str, str], keys: Sequence[str], member: str,
             now: float) -> Known | None:
        """Count the call if every key of ``since`` still has its version: None; else the keys as they are."""
        involved = list(dict.fromkeys([*since, *keys]))
        counted = set(keys)
        version = self._unique()
        names: list[str] = []
        args: list[str] = [repr(now), member, str(KEEP), repr(now - KEEP), version]
        for key in involved:
            names += self._pair(key)
            args += [versions.get(key, ""), "1" if key in counted else "0",
                     repr(since[key]) if key in since else ""]
        answer = self._wire.run(TAKE, names, args)
        if int(answer[0]) == 1:
            self._counted(since, versions, counted, member, now, version)
            return None
        self._learn([k for k in involved if k in since], since, answer[1:])
        return self.known(since)

    def _counted(self, since: Mapping[str, float], versions: Mapping[str, str], counted: set[str], member: str,
                 now: float, version: str) -> None:
        """What this process knows after its take: each checked key as it was, plus this call."""
        with self._lock:
            for key in counted:
                seen = self._view.get(key)
                if key not in versions:  # counted unchecked: what else it holds is unknown
                    self._remember(key, None)
                elif seen is not None and seen.version == versions[key]:
                    kept = tuple(c for c in seen.calls if c[0] >= now - KEEP)
                    self._remember(key, _Seen(seen.since, version, (*kept, (now, member))))
                elif versions[key] == "0":  # it had no calls at all
                    self._remember(key, _Seen(float("-inf"), version, ((now, member),)))
                else:
                    self._remember(key, None)

    def change(self, row: RedisRow, when: float | None) -> None:
        """Remove the call (``when`` None) or move it later to ``when``; told, not awaited (``redis_wire``)."""
        version = self._unique()
        names = [n for key in row.keys for n in self._pair(key)]
        with self._lock:
            knew = {key: self._view.get(key) for key in row.keys}
        args = [row.member, "" if when is None else repr(when), str(KEEP), version,
                *(seen.version if seen else "" for seen in knew.values())]
        self._wire.tell(CHANGE, names, args)
        with self._lock:  # as this process knew them, with this change (another write between: the take finds out)
            for key, seen in knew.items():
                if seen is not None and self._view.get(key) is seen:
                    self._remember(key, _Seen(seen.since, version, _changed(seen.calls, row.member, when)))

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


def _time(call: tuple[float, str]) -> float:
    return call[0]


def _changed(calls: tuple[tuple[float, str], ...], member: str, when: float | None) -> tuple[tuple[float, str], ...]:
    """``calls`` without ``member`` (``when`` None), or with it moved later to ``when``."""
    if when is None:
        return tuple(c for c in calls if c[1] != member)
    return tuple((max(t, when), m) if m == member else (t, m) for t, m in calls)


def _digest(member: str | bytes) -> str:
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

    def peek(self, since: Mapping[str, float]) -> Calls | None:
        """The calls as this process last knew them in Redis (no round trip), for a decision the take checks;
        None while Redis is not in use (then only a read knows)."""
        redis = None if self._down else self._remote()
        return None if redis is None else redis.known(since)[0]

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
