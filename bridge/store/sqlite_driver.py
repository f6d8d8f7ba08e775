"""aiosqlite with the short calls made on the event loop's thread.

aiosqlite runs every call (open a cursor, execute, fetch, close, begin, commit) on the
connection's own thread and wakes the event loop for each result. A primary-key read in WAL
mode takes SQLite about 10 us, while each of those hand-offs costs more than the read; a get
made eight of them per statement (docs/performance.md).

`LoopConnection` keeps aiosqlite's API, connection thread and queue, and decides per call:

- on the loop's thread, a call that cannot wait: reads (`SELECT`, a deferred `BEGIN`), fetches,
  cursor and rollback calls, and every statement of a transaction that already holds the write
  lock (it began `BEGIN IMMEDIATE`; in WAL mode nothing can block it then);
- on the connection's thread, a call that may wait, so the loop never does: `BEGIN IMMEDIATE`
  (waits for another writer, up to `busy_timeout`), `COMMIT` (the `fsync`), a write outside
  such a transaction (DDL, migrations), which may need the lock, and `PRAGMA journal_mode`
  (run once per connection; turning a new database to WAL needs it exclusively).

SQLAlchemy's aiosqlite dialect uses it through `async_creator` (bridge/store/database.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

_READS = ("SELECT", "BEGIN DEFERRED", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")
_MAY_WAIT = frozenset({"PRAGMA JOURNAL_M"})
"""Statement heads (see `_statement`) that look like reads but may wait for a lock: switching
a new database to WAL needs it exclusively."""
_ENDS = ("COMMIT", "END")


class LoopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls that cannot wait run on the calling thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._writing = False
        """A `BEGIN IMMEDIATE` succeeded and the transaction has not ended."""

    def __await__(self) -> Generator[Any, None, LoopConnection]:
        self._thread.daemon = True  # as SQLAlchemy's dialect does for plain aiosqlite
        self._thread.start()
        return self._connect_loop().__await__()

    async def _connect_loop(self) -> LoopConnection:
        await self._connect()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if name in ("commit", "rollback"):
            self._writing = False
            if name == "commit":
                return await self._on_own_thread(fn, *args, **kwargs)
            return fn(*args, **kwargs)
        sql = _statement(name, args)
        if sql is not None and sql.startswith("ROLLBACK") and not sql.startswith("ROLLBACK TO"):
            self._writing = False
        if sql is not None and sql.startswith(_ENDS):
            self._writing = False
            return await self._on_own_thread(fn, *args, **kwargs)
        if sql is None or self._writing or (sql.startswith(_READS) and sql not in _MAY_WAIT):
            return fn(*args, **kwargs)
        result = await self._on_own_thread(fn, *args, **kwargs)
        self._writing = sql.startswith("BEGIN IMMEDIATE")
        return result

    async def _on_own_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """aiosqlite's way: queue the call to the connection's thread and await its result."""
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _statement(name: str, args: tuple[Any, ...]) -> str | None:
    """The start of an execute call's SQL, upper-cased; None for any other call."""
    if name not in ("execute", "executemany", "executescript") or not args:
        return None
    sql = args[0]
    if not isinstance(sql, str):
        return None
    head = sql.lstrip()[:16].upper()
    return "BEGIN DEFERRED" if head.rstrip() == "BEGIN" else head


def connector(path: str, *, timeout: float) -> Callable[[], sqlite3.Connection]:
    """Open `path` for use from both the loop's thread and the connection's thread."""
    return partial(
        sqlite3.connect, path, timeout=timeout, isolation_level=None, check_same_thread=False
    )
