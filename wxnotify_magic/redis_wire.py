"""Talking to the shared ledger's Redis in as few round trips as a send allows.

- Scripts run by their hash (``EVALSHA``), sent again in full only when Redis answers NOSCRIPT (it restarted).
- A change nobody waits for (the time a call's answer came) is *told*: ``CLIENT REPLY SKIP`` then ``EVAL``, so
  Redis sends no reply. It is written in the same packet ahead of this process's next script (Redis runs a
  connection's commands in order), or by a background thread within ``FLUSH`` seconds when none comes.
- Whether Redis skips replies on request is asked once; where it does not (a proxy, a renamed ``CLIENT``
  command), changes are run and awaited like any script.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import threading
import time
from collections.abc import Sequence
from typing import Any

FLUSH = 0.05  # seconds a told change waits for this process's next command before it is sent alone
IDLE = 30.0  # seconds the background sender waits for work before it ends (started again when needed)


class Script:
    """A Lua script and its hash."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def command(self, keys: Sequence[str], args: Sequence[str], *, full: bool = False) -> tuple[Any, ...]:
        return (("EVAL", self.text) if full else ("EVALSHA", self.sha)) + (len(keys), *keys, *args)


class Wire:
    """The client's connections, with the told changes waiting to be written ahead of the next command."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._lock = threading.Condition()
        self._told: list[tuple[Any, ...]] = []
        self._quiet: bool | None = None  # whether Redis skips replies on request (asked at the first tell)
        self._sender: threading.Thread | None = None
        self._exit_flush = False

    def run(self, script: Script, keys: Sequence[str], args: Sequence[str]) -> Any:
        """Run ``script`` and return its answer: one round trip, carrying the told changes that wait."""
        from redis.exceptions import NoScriptError

        with self._lock:
            told, self._told = self._told, []
        pool = self.client.connection_pool
        connection = _connection(pool)
        try:
            connection.send_packed_command(connection.pack_commands([*told, script.command(keys, args)]))
            try:
                return connection.read_response()
            except NoScriptError:  # Redis restarted or flushed its scripts: send the text (it keeps it again)
                connection.send_packed_command(connection.pack_commands([script.command(keys, args, full=True)]))
                return connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)

    def tell(self, script: Script, keys: Sequence[str], args: Sequence[str]) -> None:
        """Run ``script`` without waiting for it: written ahead of the next command (or within ``FLUSH`` s)."""
        if self._quiet is None:
            self._quiet = self._probe()
        if not self._quiet:
            self.run(script, keys, args)
            return
        with self._lock:  # the text, not the hash: a NOSCRIPT answer would go unread
            self._told += [("CLIENT", "REPLY", "SKIP"), script.command(keys, args, full=True)]
            if self._sender is None or not self._sender.is_alive():  # not started, idle, or a forked child
                self._sender = threading.Thread(target=self._send_later, name="wxnotify-ledger-tell", daemon=True)
                self._sender.start()
                if not self._exit_flush:
                    self._exit_flush = True
                    atexit.register(self.flush)
            self._lock.notify()

    def flush(self) -> None:
        """Send the told changes that wait (a told change only refines a count: one that cannot be sent is
        dropped; the next command finds out whether Redis is reachable)."""
        with self._lock:
            told, self._told = self._told, []
        if not told:
            return
        pool = self.client.connection_pool
        with contextlib.suppress(Exception):
            connection = _connection(pool)
            try:
                connection.send_packed_command(connection.pack_commands(told))
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

    def _send_later(self) -> None:
        while True:
            with self._lock:
                if not self._lock.wait_for(lambda: self._told, timeout=IDLE):
                    self._sender = None
                    return
            time.sleep(FLUSH)  # the next command of this process may carry them first
            self.flush()

    def _probe(self) -> bool:
        """Whether Redis skips the reply after ``CLIENT REPLY SKIP``: then the first reply is the second ECHO's;
        anything else is read to that one (the connection stays in step) and replies are awaited from then on."""
        from redis.exceptions import ResponseError

        pool = self.client.connection_pool
        connection = _connection(pool)
        try:
            connection.send_packed_command(connection.pack_commands(
                [("CLIENT", "REPLY", "SKIP"), ("ECHO", "skipped"), ("ECHO", "answered")]))
            for i in range(3):
                try:
                    answer = connection.read_response()
                except ResponseError:
                    answer = b""
                if answer in (b"answered", "answered"):
                    return i == 0
            return False
        except BaseException:
            connection.disconnect()
            raise
        finally:
            pool.release(connection)


def _connection(pool: Any) -> Any:
    """A connection of ``pool`` (redis-py 5.3 and later take no command name; 4.x needs one)."""
    try:
        return pool.get_connection()
    except TypeError:
        return pool.get_connection("EVAL")
