"""The executors (bridge/store/executor.py): group commit on SQLite, the same units on both.

The SQLite tests use a migrated file of their own; a `Gate` (a unit that holds the writer
thread inside its transaction) makes batches deterministic: whatever is submitted while the
gate holds the writer forms exactly the next batch. No test depends on how fast anything is;
every wait is bounded by TIMEOUT and only fails when it runs out.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.canonical import ErrorCode, Purchase
from bridge.crypto import EmailCipher
from bridge.errors import RuleError
from bridge.store import sqlite_executor
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.executor import (
    Database,
    IntegrityError,
    Tx,
    UnitAwaitedError,
    open_database,
    read_all,
    read_value,
)
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from bridge.store.sqlite_executor import SqliteDatabase, SqliteWriter
from tests.engines import sqlite_database
from tests.factories import approved_purchase
from tests.proofs.data import load

APP = "units"
TIMEOUT = 30.0
"""Bound on every wait for the writer thread: only reached when a test is failing."""


@dataclass
class SqliteFile:
    engine: SqliteDatabase
    path: str

    @property
    def writer(self) -> SqliteWriter:
        return self.engine.writer


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[SqliteFile]:
    """A migrated SQLite file of the test's own (SQLite only: group commit is SQLite's)."""
    url = await sqlite_database(tmp_path, migrated=True)
    database = sa.make_url(url).database
    assert database is not None
    engine = SqliteDatabase(database)
    yield SqliteFile(engine, database)
    await engine.close()


@pytest.fixture
async def any_engine(database_url: str) -> AsyncIterator[Database]:
    """The test's database on SQLite and on PostgreSQL (tests/store runs on both)."""
    engine = open_database(database_url)
    yield engine
    await engine.close()


Unit = Callable[[Tx], Awaitable[Any]]


def add_customer(customer: str) -> Callable[[Tx], Awaitable[str]]:
    """A unit that inserts one customer and returns its id."""

    async def unit(tx: Tx) -> str:
        await tx.run(sa.insert(t.customers), {"app": APP, "id": customer, "registered": True})
        return customer

    return unit


async def customers(engine: Database) -> set[str]:
    query = sa.select(t.customers.c.id).where(t.customers.c.app == APP)
    return {row.id for row in await read_all(engine, query)}


def customers_seen_by_another_connection(path: str) -> set[str]:
    """What a separate connection (another process) sees committed in the file."""
    other = sqlite3.connect(path)
    try:
        rows = other.execute("SELECT id FROM customers WHERE app = ?", (APP,)).fetchall()
    finally:
        other.close()
    return {row[0] for row in rows}


class Gate:
    """A unit that holds the writer thread, inside its transaction, until opened."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()

    async def __call__(self, tx: Tx) -> str:
        self.entered.set()
        if not self._open.wait(TIMEOUT):
            raise TimeoutError("the gate was never opened")
        return "gate"

    def open(self) -> None:
        self._open.set()

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, TIMEOUT), "the writer never ran it"


@asynccontextmanager
async def writer_held(engine: Database) -> AsyncIterator[None]:
    """Hold the writer thread in a gate's batch; on exit, let it go and wait for its answer."""
    gate = Gate()
    held = asyncio.ensure_future(engine.write(gate))
    await gate.wait_entered()
    try:
        yield
        await asyncio.sleep(0)  # every submit made in the block has reached the queue
    finally:
        gate.open()
        assert await held == "gate"


async def one_batch(store: SqliteFile, batch: list[Unit]) -> list[Any]:
    """Run the units as one group commit; each caller's result or exception, in order."""
    async with writer_held(store.engine):
        before = store.writer.batches
        waiting = [asyncio.ensure_future(store.engine.write(unit)) for unit in batch]
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert store.writer.batches == before + 2  # the gate's transaction, then theirs
    return list(outcomes)


# Group commit.


async def test_concurrent_writes_are_group_committed_each_caller_gets_its_own_result(
    sqlite_file: SqliteFile,
) -> None:
    names = [f"c{n}" for n in range(50)]

    results = await asyncio.gather(*(sqlite_file.engine.write(add_customer(n)) for n in names))

    assert results == names
    assert await customers(sqlite_file.engine) == set(names)
    assert sqlite_file.writer.batches < len(names)


async def test_a_unit_that_raises_in_a_batch_is_rolled_back_alone(sqlite_file: SqliteFile) -> None:
    await sqlite_file.engine.write(add_customer("taken"))
    refusal = RuleError(ErrorCode.VALIDATION, "refused after a write")

    async def duplicate_after_a_write(tx: Tx) -> str:
        await add_customer("partial-duplicate")(tx)
        return await add_customer("taken")(tx)  # primary key conflict

    async def refused_after_a_write(tx: Tx) -> str:
        await add_customer("partial-refused")(tx)
        raise refusal

    outcomes = await one_batch(
        sqlite_file,
        [
            add_customer("first"),
            duplicate_after_a_write,
            refused_after_a_write,
            add_customer("last"),
        ],
    )

    assert outcomes[0] == "first"
    assert isinstance(outcomes[1], IntegrityError)
    assert outcomes[2] is refusal
    assert outcomes[3] == "last"
    assert await customers(sqlite_file.engine) == {"taken", "first", "last"}


# A batch that cannot commit.


async def test_a_failed_commit_fails_every_caller_of_the_batch_and_writes_nothing(
    sqlite_file: SqliteFile,
) -> None:
    async def orphan_checked_at_commit(tx: Tx) -> str:
        await tx.script("PRAGMA defer_foreign_keys = ON")  # the FK check moves to COMMIT
        orphan = {"app": APP, "customer_id": "nobody", "balance": 1}
        await tx.run(sa.insert(t.points_accounts), orphan)
        return "orphan"

    outcomes = await one_batch(
        sqlite_file, [add_customer("before"), orphan_checked_at_commit, add_customer("after")]
    )

    assert all(isinstance(outcome, IntegrityError) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert customers_seen_by_another_connection(sqlite_file.path) == set()
    lock_free = sqlite3.connect(sqlite_file.path, timeout=0, isolation_level=None)
    try:
        lock_free.execute("BEGIN IMMEDIATE")  # the writer did not keep the failed transaction
        lock_free.execute("ROLLBACK")
    finally:
        lock_free.close()
    assert await sqlite_file.engine.write(add_customer("later")) == "later"


async def test_a_failed_begin_fails_every_caller_and_writes_nothing(
    sqlite_file: SqliteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_executor, "BUSY_TIMEOUT_MS", 0)
    other_writer = sqlite3.connect(sqlite_file.path, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
        outcomes = await asyncio.gather(
            *(sqlite_file.engine.write(add_customer(f"c{n}")) for n in range(3)),
            return_exceptions=True,
        )
        other_writer.execute("ROLLBACK")
    finally:
        other_writer.close()

    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes), outcomes
    assert all("locked" in str(outcome) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert await sqlite_file.engine.write(add_customer("later")) == "later"


async def test_a_transaction_sqlite_rolls_back_itself_fails_the_whole_batch(
    sqlite_file: SqliteFile,
) -> None:
    """SQLITE_FULL (here: max_page_count reached) rolls back the whole transaction, not just
    the statement: the units before it are gone, so their callers must not hear success, and
    the units after it must not run (and commit) outside the batch's transaction."""

    async def disk_full_after_a_write(tx: Tx) -> str:
        await add_customer("partial-full")(tx)
        pages = await tx.scalar(sa.text("PRAGMA page_count"))
        await tx.script(f"PRAGMA max_page_count = {pages}")
        try:
            for n in range(2000):
                row = {"app": APP, "id": f"big-{n}-{'x' * 200}", "registered": True}
                await tx.run(sa.insert(t.customers), row)
        finally:
            await tx.script("PRAGMA max_page_count = 1073741823")
        return "full"

    outcomes = await one_batch(
        sqlite_file, [add_customer("before"), disk_full_after_a_write, add_customer("after")]
    )

    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert await sqlite_file.engine.write(add_customer("later")) == "later"


# Threads, visibility, idling.


async def test_reads_run_on_the_loop_thread_and_writes_on_the_writer_thread(
    sqlite_file: SqliteFile,
) -> None:
    async def where(_tx: Tx) -> tuple[int, str]:
        return threading.get_ident(), threading.current_thread().name

    read_ident, _ = await sqlite_file.engine.read(where)
    write_ident, write_name = await sqlite_file.engine.write(where)

    assert read_ident == threading.get_ident()
    assert write_ident != threading.get_ident()
    assert write_name == "sqlite-writer"


async def test_a_write_is_visible_as_soon_as_its_caller_is_answered(
    sqlite_file: SqliteFile,
) -> None:
    async def write_then_read(name: str) -> tuple[bool, bool]:
        await sqlite_file.engine.write(add_customer(name))
        seen = name in await customers(sqlite_file.engine)
        return seen, name in customers_seen_by_another_connection(sqlite_file.path)

    alone = [await write_then_read(f"alone-{n}") for n in range(10)]
    together = await asyncio.gather(*(write_then_read(f"together-{n}") for n in range(20)))

    assert set(alone) == set(together) == {(True, True)}


async def test_a_caller_is_answered_only_after_its_batch_commits(sqlite_file: SqliteFile) -> None:
    later_in_the_batch = Gate()
    async with writer_held(sqlite_file.engine):
        early = asyncio.ensure_future(sqlite_file.engine.write(add_customer("early")))
        held = asyncio.ensure_future(sqlite_file.engine.write(later_in_the_batch))
    await later_in_the_batch.wait_entered()  # "early" has run and released its savepoint
    for _ in range(5):
        await asyncio.sleep(0)  # an answer already sent would have been delivered by now

    assert not early.done()
    assert await customers(sqlite_file.engine) == set()  # not committed yet
    later_in_the_batch.open()
    assert await early == "early"
    assert await customers(sqlite_file.engine) == {"early"}
    assert await held == "gate"


async def test_the_writer_thread_outlives_a_quiet_spell_and_ends_at_close(
    sqlite_file: SqliteFile,
) -> None:
    def thread_of(name: str) -> Callable[[Tx], Awaitable[threading.Thread]]:
        async def unit(tx: Tx) -> threading.Thread:
            await add_customer(name)(tx)
            return threading.current_thread()

        return unit

    first = await sqlite_file.engine.write(thread_of("first"))
    await asyncio.sleep(1.5)  # quiet for longer than a writer used to idle before ending
    second = await sqlite_file.engine.write(thread_of("second"))

    assert second is first
    assert first.is_alive()
    assert await customers(sqlite_file.engine) == {"first", "second"}
    sqlite_file.writer.close()
    assert not first.is_alive()
    assert sqlite_file.writer._thread is None


async def test_a_unit_that_awaits_something_else_is_refused(sqlite_file: SqliteFile) -> None:
    async def sleeps(_tx: Tx) -> None:
        await asyncio.sleep(0)

    with pytest.raises(UnitAwaitedError):
        await sqlite_file.engine.write(sleeps)
    with pytest.raises(UnitAwaitedError):
        await sqlite_file.engine.read(sleeps)
    assert await sqlite_file.engine.write(add_customer("later")) == "later"


async def test_a_write_whose_caller_is_cancelled_still_commits_whole(
    sqlite_file: SqliteFile,
) -> None:
    async with writer_held(sqlite_file.engine):
        caller = asyncio.ensure_future(sqlite_file.engine.write(add_customer("gone")))
        await asyncio.sleep(0)
        caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await sqlite_file.engine.write(add_customer("later")) == "later"
    assert await customers(sqlite_file.engine) == {"gone", "later"}


# The same units on both engines.


async def test_a_write_then_a_read_run_the_same_units(any_engine: Database) -> None:
    assert await any_engine.write(add_customer("written")) == "written"
    assert await customers(any_engine) == {"written"}
    names = [f"c{n}" for n in range(20)]
    assert await asyncio.gather(*(any_engine.write(add_customer(n)) for n in names)) == names
    assert await customers(any_engine) == {"written", *names}


async def test_a_unit_that_raises_writes_nothing(any_engine: Database) -> None:
    refusal = RuleError(ErrorCode.VALIDATION, "refused after a write")

    async def refused_after_a_write(tx: Tx) -> str:
        await add_customer("partial")(tx)
        raise refusal

    with pytest.raises(RuleError) as raised:
        await any_engine.write(refused_after_a_write)

    assert raised.value is refusal
    assert await customers(any_engine) == set()


# The money proof, through the group commit.


async def test_100_concurrent_places_for_a_balance_of_37_place_exactly_37(
    database_url: str, email_key: str
) -> None:
    saver = {"id": "saver", "points": 370}
    offer = {"id": 100, "name": "Cheap", "points": 10, "review": "approve"}
    await load(database_url, email_key, APP, {"customers": [saver], "offers": [offer]})
    engine = open_database(database_url)
    try:
        cipher = EmailCipher([email_key])
        catalog = Catalog(engine, cipher)
        local = LocalEngineStore(engine, Ledger(engine, cipher))
        purchase = await cheap_purchase(catalog)

        results = await asyncio.gather(
            *(local.place(purchase) for _ in range(100)), return_exceptions=True
        )

        placed = {result.id for result in results if not isinstance(result, BaseException)}
        refused = [r for r in results if isinstance(r, RuleError)]
        assert (len(placed), len(refused)) == (37, 63)
        assert {r.code for r in refused} == {ErrorCode.OFFER_NOT_AVAILABLE}
        assert await catalog.balance(APP, "saver") == 0
        entries = await read_all(engine, POINTS_OF_SAVER)
        assert {entry.kind for entry in entries} == {"order_debit"}
        assert sum(entry.points for entry in entries) == -370
        assert sorted(entry.balance_after for entry in entries) == list(range(0, 370, 10))
        assert {entry.order_id for entry in entries} == placed
        assert await read_value(engine, ORDERS_OF_SAVER) == 37
        if isinstance(engine, SqliteDatabase):  # refusals rolled back to savepoints in batches
            assert engine.writer.batches < 100
    finally:
        await engine.close()


POINTS_OF_SAVER = sa.select(
    t.points_ledger.c.kind,
    t.points_ledger.c.points,
    t.points_ledger.c.balance_after,
    t.points_ledger.c.order_id,
).where(t.points_ledger.c.app == APP, t.points_ledger.c.customer_id == "saver")
ORDERS_OF_SAVER = sa.select(sa.func.count()).where(
    t.orders.c.app == APP, t.orders.c.customer_id == "saver"
)


async def cheap_purchase(catalog: Catalog) -> Purchase:
    return await approved_purchase(catalog, APP, "saver", offer_id=100)
