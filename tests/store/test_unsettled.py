"""The unsettled index (bridge/store/unsettled.py) and RemoteOrders.unknown() that uses it.

Unit tests of the index, then RemoteOrders on both engines: the ledger is read only for a
customer the index lists, and a row another process left unknown is found after a rescan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.canonical import Order, OrderRef, Purchase, Target
from bridge.crypto import EmailCipher
from bridge.store import units
from bridge.store.catalog import Catalog
from bridge.store.database import create_engine, is_sqlite
from bridge.store.ledger import Ledger
from bridge.store.remote_orders import RemoteOrders
from bridge.store.unsettled import RESCAN_SECONDS, UnsettledIndex
from tests.clocks import SEED_CREATED_AT
from tests.factories import approved_purchase

APP = "demo"


class Monotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# The index on its own.


def test_an_index_never_scanned_is_stale() -> None:
    assert UnsettledIndex(clock=Monotonic()).stale()


def test_a_scan_is_fresh_until_rescan_seconds_have_passed() -> None:
    clock = Monotonic()
    index = UnsettledIndex(clock=clock)
    index.replace([], set())

    clock.advance(RESCAN_SECONDS - 0.001)
    assert not index.stale()
    clock.advance(0.001)
    assert index.stale()


def test_a_scan_replaces_what_the_index_listed() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.opened(APP, "gone", 1)

    index.replace([(APP, "c1", 2, None), (APP, "c1", 3, None), ("other", "c1", 4, None)], set())

    assert not index.may_have(APP, "gone")
    assert index.may_have(APP, "c1")
    assert index.may_have("other", "c1")
    assert not index.may_have(APP, "c2")


def test_a_row_opened_during_a_scan_is_kept_though_the_scan_missed_it() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.opened(APP, "before", 1)
    index.opened(APP, "during", 2)  # committed after the scan's snapshot

    index.replace([], opened_meanwhile={2})

    assert index.may_have(APP, "during")
    assert not index.may_have(APP, "before")
    index.settled(APP, "during", 2)
    assert not index.may_have(APP, "during")


def test_a_customer_is_listed_until_each_of_its_rows_is_settled() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.opened(APP, "c1", 1)
    index.opened(APP, "c1", 2)

    index.settled(APP, "c1", 1)
    assert index.may_have(APP, "c1")
    index.settled(APP, "c1", 2)
    assert not index.may_have(APP, "c1")
    index.settled(APP, "c1", 2)  # settling again, or an unlisted customer, changes nothing
    index.settled(APP, "never", 9)
    assert not index.may_have(APP, "never")


def test_a_lookup_corrects_the_entry_of_its_customer_only() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.opened(APP, "c1", 1)
    index.opened(APP, "c2", 2)

    index.found(APP, "c1", [], index.listed(APP, "c1"))
    assert not index.may_have(APP, "c1")
    assert index.may_have(APP, "c2")

    index.found(APP, "c3", [(7, None), (8, None)], frozenset())  # rows another process left
    index.settled(APP, "c3", 7)
    assert index.may_have(APP, "c3")
    index.settled(APP, "c3", 8)
    assert not index.may_have(APP, "c3")


def test_a_lookup_keeps_a_row_opened_while_it_read() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.opened(APP, "c1", 1)
    before = index.listed(APP, "c1")
    index.opened(APP, "c1", 2)  # committed after the lookup's SELECT had read
    index.found(APP, "c1", [(1, None)], before)
    index.settled(APP, "c1", 1)
    assert index.may_have(APP, "c1")


def test_a_lookup_of_a_customer_with_rows_from_elsewhere() -> None:
    index = UnsettledIndex(clock=Monotonic())
    index.found(APP, "c3", [(7, None), (8, None)], frozenset())  # rows the index did not know of
    index.settled(APP, "c3", 7)
    assert index.may_have(APP, "c3")
    index.settled(APP, "c3", 8)
    assert not index.may_have(APP, "c3")


# RemoteOrders on both engines.


@dataclass
class Store:
    engine: AsyncEngine
    ledger: Ledger
    catalog: Catalog
    statements: list[str]


@pytest.fixture
async def store(database_url: str, email_key: str, demo_data: None) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    cipher = EmailCipher([email_key])
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for sync in units.engines(engine):
        event.listen(sync, "before_cursor_execute", record)
    yield Store(engine, Ledger(engine, cipher), Catalog(engine, cipher), statements)
    await engine.dispose()


@contextmanager
def ledger_reads(store: Store) -> Iterator[list[str]]:
    """The statements on the orders table made inside the block."""
    made: list[str] = []
    start = len(store.statements)
    yield made
    made.extend(s for s in store.statements[start:] if " orders" in s)


async def purchase(store: Store, customer: str) -> Purchase:
    return await approved_purchase(store.catalog, APP, customer)


def remote(store: Store, index: UnsettledIndex | None = None) -> RemoteOrders:
    return RemoteOrders(store.engine, store.ledger, Target.INCENTIVES, index)


async def unknown_ids(orders: RemoteOrders, customer: str) -> list[int]:
    return [order.id for order in await orders.unknown(APP, customer)]


async def left_unknown_elsewhere(store: Store, customer: str) -> Order:
    """A row opened, and left unknown, by another process (its own RemoteOrders)."""
    return await remote(store).open(await purchase(store, customer), None)


async def test_a_row_another_process_left_unknown_is_found_after_a_rescan(store: Store) -> None:
    clock = Monotonic()
    ours = remote(store, UnsettledIndex(clock=clock))
    assert await unknown_ids(ours, "demo-user-1") == []  # the first call scans

    theirs = await left_unknown_elsewhere(store, "demo-user-1")

    assert await unknown_ids(ours, "demo-user-1") == []
    clock.advance(RESCAN_SECONDS - 0.1)
    assert await unknown_ids(ours, "demo-user-1") == []
    clock.advance(0.1)
    assert await unknown_ids(ours, "demo-user-1") == [theirs.id]


async def test_a_row_left_unknown_before_the_process_started_is_found_at_once(
    store: Store,
) -> None:
    theirs = await left_unknown_elsewhere(store, "demo-user-1")

    ours = remote(store, UnsettledIndex(clock=Monotonic()))

    assert await unknown_ids(ours, "demo-user-1") == [theirs.id]


async def test_a_customer_with_no_unknown_rows_makes_no_ledger_query(store: Store) -> None:
    ours = remote(store, UnsettledIndex(clock=Monotonic()))
    other = await ours.open(await purchase(store, "demo-user-ca"), None)
    with ledger_reads(store) as scan:
        await ours.unknown(APP, "demo-user-1")
    assert len(scan) == 1  # the first scan

    with ledger_reads(store) as none:
        assert await unknown_ids(ours, "demo-user-1") == []
    with ledger_reads(store) as one:
        assert await unknown_ids(ours, "demo-user-ca") == [other.id]

    assert none == []
    assert len(one) == 1


async def test_a_purchase_still_in_flight_is_not_looked_up(store: Store) -> None:
    ours = remote(store, UnsettledIndex(clock=Monotonic()))
    placed = await ours.open(await purchase(store, "demo-user-ca"), None)
    await ours.unknown(APP, "demo-user-ca")  # the first scan
    younger_only = placed.created_at - timedelta(seconds=1)
    with ledger_reads(store) as none:
        assert await ours.unknown(APP, "demo-user-ca", younger_only) == []
    with ledger_reads(store) as one:
        found = await ours.unknown(APP, "demo-user-ca", placed.created_at)
    assert none == []
    assert len(one) == 1
    assert [order.id for order in found] == [placed.id]


async def test_rows_this_process_opens_and_settles_need_no_rescan(store: Store) -> None:
    ours = remote(store, UnsettledIndex(clock=Monotonic()))
    assert await unknown_ids(ours, "demo-user-1") == []
    confirmed = await ours.open(await purchase(store, "demo-user-1"), None)
    discarded = await ours.open(await purchase(store, "demo-user-1"), None)

    assert await unknown_ids(ours, "demo-user-1") == [confirmed.id, discarded.id]
    await ours.confirm(confirmed, "user-offer-1", SEED_CREATED_AT, None)
    assert await unknown_ids(ours, "demo-user-1") == [discarded.id]
    await ours.discard(discarded)

    with ledger_reads(store) as reads:
        assert await unknown_ids(ours, "demo-user-1") == []
    assert reads == []


async def test_a_lookup_drops_a_customer_whose_rows_another_process_settled(
    store: Store,
) -> None:
    ours = remote(store, UnsettledIndex(clock=Monotonic()))
    order = await ours.open(await purchase(store, "demo-user-1"), None)
    await remote(store).confirm(order, "user-offer-1", SEED_CREATED_AT, None)  # elsewhere

    with ledger_reads(store) as first:
        assert await unknown_ids(ours, "demo-user-1") == []
    with ledger_reads(store) as second:
        assert await unknown_ids(ours, "demo-user-1") == []

    assert len(first) == 1
    assert second == []


async def test_the_ledger_locates_an_unknown_order_as_unsettled_until_confirmed(
    store: Store,
) -> None:
    ours = remote(store, UnsettledIndex(clock=Monotonic()))
    order = await ours.open(await purchase(store, "demo-user-1"), None)

    assert await store.ledger.locate(APP, OrderRef(order_id=order.id)) == (order, False)
    await ours.confirm(order, "user-offer-1", SEED_CREATED_AT, None)
    located = await store.ledger.locate(APP, OrderRef(order_id=order.id))

    assert located is not None
    assert (located[0].id, located[1]) == (order.id, True)
    assert await store.ledger.locate(APP, OrderRef(order_id=order.id + 1)) is None


async def test_the_scan_reads_the_partial_index_of_unknown_rows(store: Store) -> None:
    async with store.engine.connect() as conn:
        if is_sqlite(store.engine):
            definition = (
                await conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_orders_unsettled'"
                )
            ).scalar()
            plan = " ".join(
                str(row[-1])
                for row in await conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT app, customer_id, id FROM orders"
                    " WHERE target = 'incentives' AND backend_ref IS NULL"
                )
            )
            assert "ix_orders_unsettled" in plan
        else:
            definition = (
                await conn.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": "ix_orders_unsettled"},
                )
            ).scalar()
    assert definition is not None
    assert "(target)" in definition.replace('"', "")
    assert "WHERE" in definition.upper()
    assert "backend_ref IS NULL" in definition.replace("(", "").replace(")", "")


def test_rows_younger_than_the_cutoff_are_left_to_their_calls() -> None:
    index = UnsettledIndex(clock=Monotonic())
    placed = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    index.opened(APP, "c1", 1, placed)  # a purchase still in flight
    assert index.may_have(APP, "c1")
    assert not index.may_have(APP, "c1", created_before=placed - timedelta(seconds=1))
    assert index.may_have(APP, "c1", created_before=placed)
    index.found(APP, "c2", [(5, None)], frozenset())  # another process's row: age unknown
    assert index.may_have(APP, "c2", created_before=placed - timedelta(days=1))
