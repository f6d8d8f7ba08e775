"""Units of work: a store's hot reads and writes as plain functions of a SQLAlchemy Connection.

`read(engine, unit)` and `write(engine, unit)` run `unit(conn)` with the same code on both
engines, by the cheapest route each has:

- **PostgreSQL**: the async engine (asyncpg) and `run_sync`, in a write transaction for
  `write`.
- **SQLite (a file)**: no asyncio adaptation at all. SQLAlchemy's async layer (a greenlet per
  call, the aiosqlite adapter) costs several times what SQLite itself takes for a primary-key
  read; a synchronous engine on the same file does not (docs/performance.md).
  - A read runs on the event loop's thread, on a synchronous connection: in WAL mode a reader
    never waits for a lock, and the read takes tens of microseconds.
  - A write goes to the process's SQLite writer thread (`SqliteWriter`), which may wait (for
    the write lock, for `fsync`) without holding up the loop. Writes that arrive together
    share one transaction, each in its own savepoint, and one `COMMIT`: group commit, one
    `fsync` for the batch. A unit that raises is rolled back to its savepoint and its caller
    gets the exception; the others commit. Every caller is answered after the `COMMIT`.

A unit must be a plain function: no awaiting inside it, nothing but the statements.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
Unit = Callable[[sa.Connection], T]

MAX_BATCH = 64
"""Most units one group commit carries."""
IDLE_SECONDS = 1.0
"""A writer thread with nothing to do for this long ends (the next write starts another)."""


async def read(engine: AsyncEngine, unit: Unit[T]) -> T:
    """Run a read-only unit (SQLite: on the loop's thread; PostgreSQL: asyncpg)."""
    direct = _DIRECT.get(engine)
    if direct is not None:
        with direct.reader.connect() as conn:
            return unit(conn)
    async with engine.connect() as conn:
        return await conn.run_sync(unit)


async def write(engine: AsyncEngine, unit: Unit[T]) -> T:
    """Run a unit in a write transaction (SQLite: group-committed by the writer thread)."""
    direct = _DIRECT.get(engine)
    if direct is not None:
        return await direct.writer.submit(unit)
    async with engine.begin() as conn:
        return await conn.run_sync(unit)


@dataclass(frozen=True)
class Direct:
    """The synchronous engines of one SQLite file: readers on the loop, one writer thread."""

    reader: sa.Engine
    writer: SqliteWriter


_DIRECT: weakref.WeakKeyDictionary[AsyncEngine, Direct] = weakref.WeakKeyDictionary()


def attach(engine: AsyncEngine, reader: sa.Engine, writer_engine: sa.Engine) -> None:
    """Route `engine`'s units to synchronous SQLite engines (bridge/store/database.py).

    They live as long as `engine` does (a weak key); an idle writer thread ends by itself.
    """
    _DIRECT[engine] = Direct(reader, SqliteWriter(writer_engine))


def detach(engine: AsyncEngine) -> None:
    """Close the synchronous engines of `engine` (bridge/store/database.py `dispose`)."""
    direct = _DIRECT.pop(engine, None)
    if direct is not None:
        direct.reader.dispose()
        direct.writer.engine.dispose()


def writer_of(engine: AsyncEngine) -> SqliteWriter | None:
    direct = _DIRECT.get(engine)
    return direct.writer if direct is not None else None


def engines(engine: AsyncEngine) -> list[sa.Engine]:
    """Every synchronous engine that runs `engine`'s statements (for event listeners)."""
    direct = _DIRECT.get(engine)
    found = [engine.sync_engine]
    if direct is not None:
        found += [direct.reader, direct.writer.engine]
    return found


_Job = tuple[Unit[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


class SqliteWriter:
    """One thread that commits the process's SQLite writes, in groups."""

    def __init__(self, engine: sa.Engine, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0
        """Transactions committed (or attempted) so far: fewer than units under load."""

    async def submit(self, unit: Unit[T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((unit, future, loop))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
                self._thread.start()
        return await future

    def _run(self) -> None:
        while True:
            try:
                first = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(bridge_write=True)
                with conn.begin():
                    if len(batch) == 1:  # no savepoint needed: its failure is the batch's
                        outcomes.append((True, batch[0][0](conn)))
                    else:
                        outcomes.extend(_in_savepoint(conn, unit) for unit, _, _ in batch)
        except BaseException as exc:  # BEGIN, COMMIT or a lone unit failed: all fail
            outcomes = [(False, exc)] * len(batch)
        self.batches += 1
        for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
            try:
                loop.call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:  # the caller's loop has closed: nobody is waiting
                continue


def _in_savepoint(conn: sa.Connection, unit: Unit[Any]) -> tuple[bool, Any]:
    try:
        with conn.begin_nested():
            return True, unit(conn)
    except Exception as exc:
        if not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            raise  # SQLite rolled back the whole transaction (SQLITE_FULL, ...): fail the batch
        return False, exc


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
