"""The SQLite executor, on the standard library's `sqlite3` (bridge/store/executor.py).

- **Reads** run on the event loop's thread, on one connection: in WAL mode a reader never
  waits for a lock, and a primary-key read takes SQLite tens of microseconds, less than any
  hand-off to a thread would.
- **Writes** go to one writer thread, which may wait (for the write lock, for `fsync`)
  without holding up the loop. Units that arrive together share one `BEGIN IMMEDIATE`
  transaction, each in its own savepoint, and one `COMMIT`: group commit, one `fsync` for the
  batch. A unit that raises is rolled back to its savepoint and its caller gets the
  exception; the others commit. Every caller is answered after the `COMMIT`, the whole
  batch in one call into the callers' event loop (one wake-up, not one per unit).
  A caller cancelled while it waits does not cut its unit short: the thread holds it.

Durable: WAL and `synchronous=FULL` unless configured otherwise. A unit's `tx` calls complete
without suspending, so the writer thread drives a unit's coroutine with one `send(None)`, in
the context of the coroutine that submitted it (its context variables: the idempotency claim
its write holds, bridge/store/idempotency.py), as a unit on PostgreSQL runs.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from bridge.store.executor import (
    IntegrityError,
    Listener,
    Statement,
    Tx,
    Unit,
    UnitAwaitedError,
)
from bridge.store.statements import SQLITE, Params, compiled_for

T = TypeVar("T")
MAX_BATCH = 64
"""Most units one group commit carries."""
BUSY_TIMEOUT_MS = 30_000


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, durable.

    `path` may be a `file:` URI (an in-memory database shared by the reader and the writer).
    """
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        uri=path.startswith("file:"),
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqliteTx:
    """A transaction's statements on one sqlite3 connection (every call completes at once)."""

    engine = SQLITE

    def __init__(self, conn: sqlite3.Connection, listeners: list[Listener]) -> None:
        self._conn = conn
        self._listeners = listeners
        self._savepoints = 0

    def _execute(self, statement: Statement, params: Params | None) -> tuple[Any, sqlite3.Cursor]:
        compiled = compiled_for(statement, SQLITE, params)
        for listener in self._listeners:
            listener(compiled.sql)
        try:
            return compiled, self._conn.execute(compiled.sql, compiled.args(params))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def all(self, statement: Statement, params: Params | None = None) -> list[Any]:
        compiled, cursor = self._execute(statement, params)
        make = compiled.row
        return [make(row) for row in cursor.fetchall()] if make else cursor.fetchall()

    async def first(self, statement: Statement, params: Params | None = None) -> Any:
        compiled, cursor = self._execute(statement, params)
        row = cursor.fetchone()
        cursor.fetchall()  # a RETURNING statement completes only once its rows are read
        return compiled.row(row) if row is not None and compiled.row else row

    async def scalar(self, statement: Statement, params: Params | None = None) -> Any:
        row = await self.first(statement, params)
        return None if row is None else row[0]

    async def run(self, statement: Statement, params: Params | None = None) -> int:
        _compiled, cursor = self._execute(statement, params)
        cursor.fetchall()
        return cursor.rowcount

    async def script(self, sql: str) -> None:
        for listener in self._listeners:
            listener(sql)
        self._conn.execute(sql)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
            raise
        self._conn.execute(f"RELEASE {name}")


_memory_databases = itertools.count()


def _shared_memory_uri() -> str:
    """One in-memory database per executor, seen by its reader and its writer alike."""
    return f"file:bridge-memory-{next(_memory_databases)}?mode=memory&cache=shared"


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a unit's coroutine to its end on this thread: it must never really suspend."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coroutine.close()
    raise UnitAwaitedError("a unit of work awaited something other than its statements")


class SqliteDatabase:
    """Reads inline on the loop's connection; writes group-committed by one writer thread."""

    engine = SQLITE

    def __init__(self, path: str, *, synchronous: str = "FULL", max_batch: int = MAX_BATCH):
        self.path = path if path != ":memory:" else _shared_memory_uri()
        self._synchronous = synchronous
        self.listeners: list[Listener] = []
        self._reader: sqlite3.Connection | None = None
        self.writer = SqliteWriter(self, max_batch)

    def connect(self) -> sqlite3.Connection:
        return connect(self.path, self._synchronous)

    async def read(self, unit: Unit[T]) -> T:
        if self._reader is None:
            self._reader = self.connect()
        # no BEGIN: each statement reads the newest committed state, as on PostgreSQL
        return drive(unit(SqliteTx(self._reader, self.listeners)))  # type: ignore[arg-type]

    async def write(self, unit: Unit[T]) -> T:
        # No shield needed: a caller cancelled while it waits cancels only its future; the
        # writer thread holds the unit and commits it whole (or fails it) all the same.
        return await self.writer.submit(unit)

    async def write_one(self, statement: Statement, params: Params | None = None) -> list[Any]:
        async def unit(tx: Tx) -> list[Any]:
            return await tx.all(statement, params)

        return await self.write(unit)

    async def close(self) -> None:
        await asyncio.to_thread(self.writer.close)
        if self._reader is not None:
            self._reader.close()
            self._reader = None


_Job = tuple[Unit[Any], asyncio.Future[Any], asyncio.AbstractEventLoop, contextvars.Context]
Outcome = tuple[bool, Any]
"""(True, the unit's value) or (False, its exception)."""


class SqliteWriter:
    """One thread that commits the process's SQLite writes, in groups."""

    def __init__(self, database: SqliteDatabase, max_batch: int = MAX_BATCH) -> None:
        self._database = database
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        """Units to commit; None ends the thread (close)."""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self.batches = 0
        """Transactions committed (or attempted) so far: fewer than units under load."""

    def submit(self, unit: Unit[T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((unit, future, loop, contextvars.copy_context()))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
                self._thread.start()
        return future

    def close(self) -> None:
        """Wait for the writer thread to finish what it holds, then close its connection."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._jobs.put(None)
            thread.join()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self) -> None:
        """Commit what arrives until `close`: the thread lives as long as the database once
        it has written, however long it idles. Starting a thread holds up the event loop
        that starts it for milliseconds (measured: 6-10 ms on a busy CPU), which a thread
        ended after each quiet second made a recurring stall of every call in flight."""
        while True:
            first = self._jobs.get()
            if first is None:  # asked to end
                with self._lock:
                    self._thread = None
                return
            batch = [first]
            ending = False
            while len(batch) < self._max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    ending = True
                else:
                    batch.append(job)
            self._commit(batch)
            if ending:
                self._jobs.put(None)

    def _commit(self, batch: list[_Job]) -> None:
        if self._conn is None:
            self._conn = self._database.connect()
        conn = self._conn
        tx = SqliteTx(conn, self._database.listeners)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                outcomes = _run_units(conn, tx, [(unit, context) for unit, _, _, context in batch])
                _commit_or_refuse(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException as exc:  # BEGIN, COMMIT or a lone unit failed: all fail
            outcomes = [(False, exc)] * len(batch)
        self.batches += 1
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
        for (_, future, loop, _), outcome in zip(batch, outcomes, strict=True):
            answers.setdefault(loop, []).append((future, outcome))
        for loop, settled in answers.items():  # one wake-up of each loop for its whole batch
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the caller's loop has closed: nobody is waiting
                continue


def _commit_or_refuse(conn: sqlite3.Connection) -> None:
    """COMMIT; a constraint checked at commit (a deferred foreign key) is an IntegrityError."""
    try:
        conn.execute("COMMIT")
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc


def _run_units(
    conn: sqlite3.Connection, tx: SqliteTx, units: list[tuple[Unit[Any], contextvars.Context]]
) -> list[Outcome]:
    if len(units) == 1:  # no savepoint needed: its failure is the batch's
        unit, context = units[0]
        return [(True, context.run(drive, unit(tx)))]  # type: ignore[arg-type]
    outcomes: list[Outcome] = []
    for unit, context in units:
        conn.execute("SAVEPOINT unit")
        try:
            outcomes.append((True, context.run(drive, unit(tx))))  # type: ignore[arg-type]
        except Exception as exc:
            if not conn.in_transaction:
                raise  # SQLite rolled back the whole transaction (SQLITE_FULL, ...)
            conn.execute("ROLLBACK TO unit")
            outcomes.append((False, exc))
        conn.execute("RELEASE unit")
    return outcomes


def _settle(settled: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, (ok, value) in settled:
        if future.cancelled():  # its caller was cancelled: the unit ran all the same
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
