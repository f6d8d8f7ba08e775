"""LoopConnection (bridge/store/sqlite_driver.py): which thread runs each SQLite call.

Calls that cannot wait run on the event loop's thread; BEGIN IMMEDIATE, COMMIT and a write
outside a BEGIN IMMEDIATE transaction run on the connection's own thread, so a writer waiting
for the lock never stops the loop. SQLite files only (PostgreSQL has no such driver).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.store.database import create_engine, write_transaction
from bridge.store.sqlite_driver import LoopConnection

ON_LOOP = "loop"
ON_OWN_THREAD = "own thread"

ITEMS = sa.table("items", sa.column("id", sa.Integer), sa.column("label", sa.String))


@dataclass
class Traced:
    """Every statement SQLite ran on one connection, with the thread that ran it."""

    driver: LoopConnection
    loop_thread: int
    statements: list[tuple[str, int]] = field(default_factory=list)

    def where(self, prefix: str) -> list[str]:
        """Where each statement starting with `prefix` ran: ON_LOOP or ON_OWN_THREAD."""
        own = self.driver._thread.ident
        places = []
        for sql, thread in self.statements:
            if sql.lstrip().upper().startswith(prefix):
                assert thread in (self.loop_thread, own), sql
                places.append(ON_LOOP if thread == self.loop_thread else ON_OWN_THREAD)
        return places


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "driver.db"


@pytest.fixture
async def engine(path: Path) -> AsyncIterator[AsyncEngine]:
    """A file database with one table, on a pool of one connection (so tests see it again)."""
    engine = create_engine(f"sqlite:///{path}", pool_size=1, max_overflow=0)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE)"
        )
    yield engine
    await engine.dispose()


async def driver_of(engine: AsyncEngine) -> LoopConnection:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
    assert isinstance(driver, LoopConnection)
    return driver


async def traced(engine: AsyncEngine) -> Traced:
    """Record from now on every statement of the pool's one connection and its thread."""
    driver = await driver_of(engine)
    trace = Traced(driver, threading.get_ident())

    def record(sql: str) -> None:
        trace.statements.append((sql, threading.get_ident()))

    await driver.set_trace_callback(record)
    return trace


async def labels(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(ITEMS.c.label).order_by(ITEMS.c.id))
        return [str(label) for label in rows.scalars()]


async def test_a_write_transaction_waits_only_on_the_connection_thread(
    engine: AsyncEngine,
) -> None:
    trace = await traced(engine)

    async with write_transaction(engine) as conn:
        await conn.execute(sa.insert(ITEMS).values(label="a"))
        await conn.execute(sa.update(ITEMS).values(label="b"))
        await conn.execute(sa.select(ITEMS))

    assert trace.where("BEGIN") == [ON_OWN_THREAD]
    assert trace.where("INSERT") == [ON_LOOP]
    assert trace.where("UPDATE") == [ON_LOOP]
    assert trace.where("SELECT") == [ON_LOOP]
    assert trace.where("COMMIT") == [ON_OWN_THREAD]


async def test_a_read_runs_entirely_on_the_loop_thread(engine: AsyncEngine) -> None:
    trace = await traced(engine)

    async with engine.connect() as conn:
        await conn.execute(sa.select(ITEMS))

    assert trace.where("BEGIN") == [ON_LOOP]
    assert trace.where("SELECT") == [ON_LOOP]
    assert trace.where("ROLLBACK") == [ON_LOOP]  # the pool's reset on return


async def test_switching_the_journal_mode_runs_on_the_connection_thread(
    engine: AsyncEngine,
) -> None:
    trace = await traced(engine)

    async with engine.connect() as conn:  # as the connect event does for a new connection
        await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        await conn.exec_driver_sql("PRAGMA foreign_keys=ON")

    assert trace.where("PRAGMA JOURNAL_MODE") == [ON_OWN_THREAD]  # may need the file alone
    assert trace.where("PRAGMA FOREIGN_KEYS") == [ON_LOOP]


async def test_a_write_outside_begin_immediate_runs_on_the_connection_thread(
    engine: AsyncEngine,
) -> None:
    trace = await traced(engine)

    async with engine.begin() as conn:  # a deferred BEGIN: the write may need the lock
        await conn.exec_driver_sql("CREATE TABLE more (id INTEGER PRIMARY KEY)")
        await conn.execute(sa.insert(ITEMS).values(label="a"))

    assert trace.where("BEGIN") == [ON_LOOP]
    assert trace.where("CREATE") == [ON_OWN_THREAD]
    assert trace.where("INSERT") == [ON_OWN_THREAD]
    assert trace.where("COMMIT") == [ON_OWN_THREAD]


async def test_a_writer_waiting_for_another_connections_lock_leaves_the_loop_free(
    engine: AsyncEngine, path: Path
) -> None:
    await labels(engine)  # the pool's connection is open before the lock is taken
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released_at: list[float] = []

    def release() -> None:
        released_at.append(time.monotonic())
        holder.commit()

    async def write() -> float:
        async with write_transaction(engine) as conn:
            await conn.execute(sa.insert(ITEMS).values(label="waited"))
        return time.monotonic()

    timer = threading.Timer(0.5, release)
    timer.start()
    try:
        writer = asyncio.create_task(write())
        loop = asyncio.get_running_loop()
        gaps, last = [], loop.time()
        while not writer.done():
            await asyncio.sleep(0.01)
            gaps.append(loop.time() - last)
            last = loop.time()
        written_at = await writer
    finally:
        timer.join()
        holder.close()

    assert written_at >= released_at[0]  # it did wait for the lock
    assert len(gaps) >= 20  # other coroutines ran while it waited ...
    assert max(gaps) < 0.25  # ... and the loop never stopped for the lock
    assert await labels(engine) == ["waited"]


async def test_two_writers_in_one_process_both_commit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'two.db'}")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE)"
            )
        first_holds = asyncio.Event()
        committed: list[str] = []

        async def first() -> None:
            async with write_transaction(engine) as conn:
                await conn.execute(sa.insert(ITEMS).values(label="first"))
                first_holds.set()
                await asyncio.sleep(0.3)  # holds the write lock across an await
            committed.append("first")

        async def second() -> None:
            await first_holds.wait()
            async with write_transaction(engine) as conn:
                await conn.execute(sa.insert(ITEMS).values(label="second"))
            committed.append("second")

        await asyncio.wait_for(asyncio.gather(first(), second()), timeout=20)
        assert committed == ["first", "second"]
        assert await labels(engine) == ["first", "second"]
    finally:
        await engine.dispose()


class Refused(Exception):
    pass


Failure = Callable[[AsyncConnection], Awaitable[None]]


async def duplicate(conn: AsyncConnection) -> None:
    await conn.execute(sa.insert(ITEMS).values(label="dup"))


async def refuse(_conn: AsyncConnection) -> None:
    raise Refused


async def write_then(engine: AsyncEngine, failure: Failure) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(sa.insert(ITEMS).values(label="rolled back"))
        await failure(conn)


@pytest.mark.parametrize(
    ("failure", "error"), [(duplicate, sa.exc.IntegrityError), (refuse, Refused)]
)
async def test_a_failed_write_transaction_rolls_back_and_the_connection_is_usable_again(
    engine: AsyncEngine, failure: Failure, error: type[Exception]
) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(sa.insert(ITEMS).values(label="dup"))

    with pytest.raises(error):
        await write_then(engine, failure)

    driver = await driver_of(engine)
    assert driver._writing is False
    assert await labels(engine) == ["dup"]
    trace = await traced(engine)
    async with engine.begin() as conn:  # not IMMEDIATE: its write must leave the loop again
        await conn.execute(sa.insert(ITEMS).values(label="after"))
    assert trace.where("INSERT") == [ON_OWN_THREAD]
    async with write_transaction(engine) as conn:
        await conn.execute(sa.insert(ITEMS).values(label="again"))
    assert await labels(engine) == ["dup", "after", "again"]
