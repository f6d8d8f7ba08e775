"""Units of work (bridge/store/units.py): group commit on SQLite, the same units on PostgreSQL.

The SQLite tests use a migrated file of their own; a `Gate` (a unit that holds the writer
thread inside its transaction) makes batches deterministic: whatever is submitted while the
gate holds the writer forms exactly the next batch. No test depends on how fast anything is;
every wait is bounded by TIMEOUT and only fails when it runs out.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.canonical import ErrorCode, Purchase
from bridge.crypto import EmailCipher
from bridge.errors import RuleError
from bridge.store import tables as t
from bridge.store import units
from bridge.store.catalog import Catalog
from bridge.store.database import create_engine, is_sqlite
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from tests.engines import sqlite_database
from tests.factories import approved_purchase
from tests.proofs.data import load

APP = "units"
TIMEOUT = 30.0
"""Bound on every wait for the writer thread: only reached when a test is failing."""


@dataclass
class SqliteFile:
    engine: AsyncEngine
    path: str

    @property
    def writer(self) -> units.SqliteWriter:
        writer = units.writer_of(self.engine)
        assert writer is not None
        return writer


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[SqliteFile]:
    """A migrated SQLite file of the test's own (SQLite only: group commit is SQLite's)."""
    url = await sqlite_database(tmp_path, migrated=True)
    engine = create_engine(url)
    database = sa.make_url(url).database
    assert database is not None
    yield SqliteFile(engine, database)
    await engine.dispose()


@pytest.fixture
async def any_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's database on SQLite and on PostgreSQL (tests/store runs on both)."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def add_customer(customer: str) -> Callable[[sa.Connection], str]:
    """A unit that inserts one customer and returns its id."""

    def unit(conn: sa.Connection) -> str:
        conn.execute(sa.insert(t.customers).values(app=APP, id=customer, registered=True))
        return customer

    return unit


async def customers(engine: AsyncEngine) -> set[str]:
    query = sa.select(t.customers.c.id).where(t.customers.c.app == APP)
    return set(await units.read(engine, lambda conn: conn.execute(query).scalars().all()))


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

    def __call__(self, conn: sa.Connection) -> str:
        self.entered.set()
        if not self._open.wait(TIMEOUT):
            raise TimeoutError("the gate was never opened")
        return "gate"

    def open(self) -> None:
        self._open.set()

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, TIMEOUT), "the writer never ran it"


@asynccontextmanager
async def writer_held(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the writer thread in a gate's batch; on exit, let it go and wait for its answer."""
    gate = Gate()
    held = asyncio.ensure_future(units.write(engine, gate))
    await gate.wait_entered()
    try:
        yield
        await asyncio.sleep(0)  # every submit made in the block has reached the queue
    finally:
        gate.open()
        assert await held == "gate"


async def one_batch(store: SqliteFile, batch: list[Callable[[sa.Connection], Any]]) -> list[Any]:
    """Run the units as one group commit; each caller's result or exception, in order."""
    async with writer_held(store.engine):
        before = store.writer.batches
        waiting = [asyncio.ensure_future(units.write(store.engine, unit)) for unit in batch]
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert store.writer.batches == before + 2  # the gate's transaction, then theirs
    return list(outcomes)


# Group commit.


async def test_concurrent_writes_are_group_committed_each_caller_gets_its_own_result(
    sqlite_file: SqliteFile,
) -> None:
    names = [f"c{n}" for n in range(50)]

    results = await asyncio.gather(
        *(units.write(sqlite_file.engine, add_customer(n)) for n in names)
    )

    assert results == names
    assert await customers(sqlite_file.engine) == set(names)
    assert sqlite_file.writer.batches < len(names)


async def test_a_unit_that_raises_in_a_batch_is_rolled_back_alone(sqlite_file: SqliteFile) -> None:
    await units.write(sqlite_file.engine, add_customer("taken"))
    refusal = RuleError(ErrorCode.VALIDATION, "refused after a write")

    def duplicate_after_a_write(conn: sa.Connection) -> str:
        add_customer("partial-duplicate")(conn)
        return add_customer("taken")(conn)  # primary key conflict

    def refused_after_a_write(conn: sa.Connection) -> str:
        add_customer("partial-refused")(conn)
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
    assert isinstance(outcomes[1], sa.exc.IntegrityError)
    assert outcomes[2] is refusal
    assert outcomes[3] == "last"
    assert await customers(sqlite_file.engine) == {"taken", "first", "last"}


# A batch that cannot commit.


async def test_a_failed_commit_fails_every_caller_of_the_batch_and_writes_nothing(
    sqlite_file: SqliteFile,
) -> None:
    def orphan_checked_at_commit(conn: sa.Connection) -> str:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # the FK check moves to COMMIT
        conn.execute(sa.insert(t.points_accounts).values(app=APP, customer_id="nobody", balance=1))
        return "orphan"

    outcomes = await one_batch(
        sqlite_file, [add_customer("before"), orphan_checked_at_commit, add_customer("after")]
    )

    assert all(isinstance(outcome, sa.exc.IntegrityError) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert customers_seen_by_another_connection(sqlite_file.path) == set()
    lock_free = sqlite3.connect(sqlite_file.path, timeout=0, isolation_level=None)
    try:
        lock_free.execute("BEGIN IMMEDIATE")  # the writer did not keep the failed transaction
        lock_free.execute("ROLLBACK")
    finally:
        lock_free.close()
    assert await units.write(sqlite_file.engine, add_customer("later")) == "later"


async def test_a_failed_begin_fails_every_caller_and_writes_nothing(
    sqlite_file: SqliteFile,
) -> None:
    def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 0")  # after the engine's own pragmas

    event.listen(sqlite_file.writer.engine, "connect", no_busy_wait)
    other_writer = sqlite3.connect(sqlite_file.path, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
        outcomes = await asyncio.gather(
            *(units.write(sqlite_file.engine, add_customer(f"c{n}")) for n in range(3)),
            return_exceptions=True,
        )
        other_writer.execute("ROLLBACK")
    finally:
        other_writer.close()

    # BEGIN IMMEDIATE is issued by the engine's `begin` listener on the DB-API cursor, so the
    # error is sqlite3's own, not wrapped by SQLAlchemy
    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes), outcomes
    assert all("locked" in str(outcome) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert await units.write(sqlite_file.engine, add_customer("later")) == "later"


async def test_a_transaction_sqlite_rolls_back_itself_fails_the_whole_batch(
    sqlite_file: SqliteFile,
) -> None:
    """SQLITE_FULL (here: max_page_count reached) rolls back the whole transaction, not just
    the statement: the units before it are gone, so their callers must not hear success, and
    the units after it must not run (and commit) outside the batch's transaction."""

    def disk_full_after_a_write(conn: sa.Connection) -> str:
        add_customer("partial-full")(conn)
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        try:
            conn.execute(
                sa.insert(t.customers),
                [
                    {"app": APP, "id": f"big-{n}-{'x' * 200}", "registered": True}
                    for n in range(2000)
                ],
            )
        finally:
            conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
        return "full"

    outcomes = await one_batch(
        sqlite_file, [add_customer("before"), disk_full_after_a_write, add_customer("after")]
    )

    assert all(isinstance(outcome, sa.exc.OperationalError) for outcome in outcomes)
    assert await customers(sqlite_file.engine) == set()
    assert await units.write(sqlite_file.engine, add_customer("later")) == "later"


# Threads, visibility, idling.


async def test_reads_run_on_the_loop_thread_and_writes_on_the_writer_thread(
    sqlite_file: SqliteFile,
) -> None:
    def where(_conn: sa.Connection) -> tuple[int, str]:
        return threading.get_ident(), threading.current_thread().name

    read_ident, _ = await units.read(sqlite_file.engine, where)
    write_ident, write_name = await units.write(sqlite_file.engine, where)

    assert read_ident == threading.get_ident()
    assert write_ident != threading.get_ident()
    assert write_name == "sqlite-writer"


async def test_a_write_is_visible_as_soon_as_its_caller_is_answered(
    sqlite_file: SqliteFile,
) -> None:
    async def write_then_read(name: str) -> tuple[bool, bool]:
        await units.write(sqlite_file.engine, add_customer(name))
        seen = name in await customers(sqlite_file.engine)
        return seen, name in customers_seen_by_another_connection(sqlite_file.path)

    alone = [await write_then_read(f"alone-{n}") for n in range(10)]
    together = await asyncio.gather(*(write_then_read(f"together-{n}") for n in range(20)))

    assert set(alone) == set(together) == {(True, True)}


async def test_a_caller_is_answered_only_after_its_batch_commits(sqlite_file: SqliteFile) -> None:
    later_in_the_batch = Gate()
    async with writer_held(sqlite_file.engine):
        early = asyncio.ensure_future(units.write(sqlite_file.engine, add_customer("early")))
        held = asyncio.ensure_future(units.write(sqlite_file.engine, later_in_the_batch))
    await later_in_the_batch.wait_entered()  # "early" has run and released its savepoint
    for _ in range(5):
        await asyncio.sleep(0)  # an answer already sent would have been delivered by now

    assert not early.done()
    assert await customers(sqlite_file.engine) == set()  # not committed yet
    later_in_the_batch.open()
    assert await early == "early"
    assert await customers(sqlite_file.engine) == {"early"}
    assert await held == "gate"


async def test_an_idle_writer_thread_ends_and_the_next_write_starts_another(
    sqlite_file: SqliteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(units, "IDLE_SECONDS", 0.05)

    def thread_of(name: str) -> Callable[[sa.Connection], threading.Thread]:
        def unit(conn: sa.Connection) -> threading.Thread:
            add_customer(name)(conn)
            return threading.current_thread()

        return unit

    first = await units.write(sqlite_file.engine, thread_of("first"))
    for _ in range(int(TIMEOUT / 0.01)):
        if not first.is_alive() and sqlite_file.writer._thread is None:
            break
        await asyncio.sleep(0.01)

    assert not first.is_alive()
    assert first not in threading.enumerate()
    assert sqlite_file.writer._thread is None
    second = await units.write(sqlite_file.engine, thread_of("second"))
    assert second is not first
    assert second.name == "sqlite-writer"
    assert await customers(sqlite_file.engine) == {"first", "second"}


async def test_in_memory_sqlite_runs_units_on_the_async_engine() -> None:
    engine = create_engine("sqlite://")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(t.metadata.create_all)
        assert units.writer_of(engine) is None
        assert units.engines(engine) == [engine.sync_engine]
        assert await units.write(engine, add_customer("memory")) == "memory"
        assert await customers(engine) == {"memory"}
    finally:
        await engine.dispose()


async def test_a_file_engine_lists_its_direct_engines(sqlite_file: SqliteFile) -> None:
    found = units.engines(sqlite_file.engine)
    assert found[0] is sqlite_file.engine.sync_engine
    assert sqlite_file.writer.engine in found
    assert len(found) == 3


# The same units on both engines.


async def test_a_write_then_a_read_run_the_same_units(any_engine: AsyncEngine) -> None:
    assert await units.write(any_engine, add_customer("written")) == "written"
    assert await customers(any_engine) == {"written"}
    names = [f"c{n}" for n in range(20)]
    assert await asyncio.gather(*(units.write(any_engine, add_customer(n)) for n in names)) == names
    assert await customers(any_engine) == {"written", *names}


async def test_a_unit_that_raises_writes_nothing(any_engine: AsyncEngine) -> None:
    refusal = RuleError(ErrorCode.VALIDATION, "refused after a write")

    def refused_after_a_write(conn: sa.Connection) -> str:
        add_customer("partial")(conn)
        raise refusal

    with pytest.raises(RuleError) as raised:
        await units.write(any_engine, refused_after_a_write)

    assert raised.value is refusal
    assert await customers(any_engine) == set()


# The money proof, through the group commit.


async def test_100_concurrent_places_for_a_balance_of_37_place_exactly_37(
    database_url: str, email_key: str
) -> None:
    saver = {"id": "saver", "points": 370}
    offer = {"id": 100, "name": "Cheap", "points": 10, "review": "approve"}
    await load(database_url, email_key, APP, {"customers": [saver], "offers": [offer]})
    engine = create_engine(database_url)
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
        entries = await units.read(engine, lambda conn: conn.execute(POINTS_OF_SAVER).all())
        assert {entry.kind for entry in entries} == {"order_debit"}
        assert sum(entry.points for entry in entries) == -370
        assert sorted(entry.balance_after for entry in entries) == list(range(0, 370, 10))
        assert {entry.order_id for entry in entries} == placed
        orders = await units.read(engine, lambda conn: conn.execute(ORDERS_OF_SAVER).scalar())
        assert orders == 37
        if is_sqlite(engine):  # the refusals were rolled back to their savepoints in batches
            writer = units.writer_of(engine)
            assert writer is not None
            assert writer.batches < 100
    finally:
        await engine.dispose()


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
