"""History rows and the order id floor, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.canonical import Order, OrderStatus, Target
from bridge.store import tables as t
from bridge.store.executor import Database, Tx, change_returning, open_database, read_one
from bridge.store.history import HistoryStore, Recorded, raise_order_id_floor

pytestmark = pytest.mark.both_engines

CREATED = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


def legacy_order(order_id: int = 500, **changes: Any) -> Order:
    values: dict[str, Any] = {
        "id": order_id,
        "app": "demo",
        "customer_id": "demo-user-1",
        "offer_id": 1,
        "quantity": 1,
        "points": 100,
        "status": OrderStatus.PENDING_APPROVAL,
        "created_at": CREATED,
        "name": "Electronic Giftcard",
        "logo": None,
        "description": None,
        "offer_type": "reward",
        "external_id": None,
        "shipping_address": None,
    }
    values.update(changes)
    return Order(**values)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Database]:
    engine = open_database(database_url)
    yield engine
    await engine.close()


BRIDGE_ROW: dict[str, Any] = {
    "app": "demo",
    "customer_id": "demo-user-1",
    "offer_id": 1,
    "quantity": 1,
    "points": 1,
    "status": "approved",
    "target": "local",
    "name": "n",
    "offer_type": "reward",
    "created_at": CREATED,
    "updated_at": CREATED,
}
"""An order row as the bridge writes it: no id given, the database picks one."""


async def next_bridge_id(engine: Database) -> int:
    """Insert an order the way the bridge does (no id given) and return the id it got."""
    row = await change_returning(
        engine, sa.insert(t.orders).values(**BRIDGE_ROW).returning(t.orders.c.id)
    )
    return int(row.id)


async def test_history_row_keeps_the_legacy_id_and_is_marked_legacy(engine: Database) -> None:
    assert await HistoryStore(engine).record(legacy_order()) is Recorded.INSERTED
    row = await read_one(engine, sa.select(t.orders).where(t.orders.c.id == 500))
    assert (row.target, row.backend_ref) == (Target.LEGACY.value, "legacy:500")


async def test_recording_twice_changes_nothing(engine: Database) -> None:
    store = HistoryStore(engine)
    await store.record(legacy_order())
    assert await store.record(legacy_order()) is Recorded.UNCHANGED


async def test_a_status_changed_on_legacy_is_refreshed(engine: Database) -> None:
    store = HistoryStore(engine)
    await store.record(legacy_order())
    assert await store.record(legacy_order(status=OrderStatus.APPROVED)) is Recorded.UPDATED


async def test_an_id_taken_by_another_order_is_a_conflict(engine: Database) -> None:
    taken = await next_bridge_id(engine)
    outcome = await HistoryStore(engine).record(legacy_order(taken))
    assert outcome is Recorded.CONFLICT


async def test_bridge_ids_continue_above_recorded_history(engine: Database) -> None:
    await HistoryStore(engine).record(legacy_order(500))
    assert await next_bridge_id(engine) > 500


async def test_floor_puts_bridge_ids_above_it(engine: Database) -> None:
    await raise_order_id_floor(engine, 10_000)
    await raise_order_id_floor(engine, 10_000)
    assert await next_bridge_id(engine) > 10_000


async def test_floor_below_the_highest_id_changes_nothing(engine: Database) -> None:
    await raise_order_id_floor(engine, 10_000)
    first = await next_bridge_id(engine)
    await raise_order_id_floor(engine, 5)
    assert await next_bridge_id(engine) == first + 1


async def test_floor_never_hands_out_an_id_taken_by_an_open_transaction(
    engine: Database, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("SQLite serialises writers: no other transaction can hold an id")
    await raise_order_id_floor(engine, 10_000)
    insert = sa.insert(t.orders).values(**BRIDGE_ROW).returning(t.orders.c.id)

    async def other(tx: Tx) -> int:
        # a reused id would wait on the open transaction's row: fail instead of hanging
        await tx.script("SET LOCAL lock_timeout = '5s'")
        return int(await tx.scalar(insert))

    async def pending(tx: Tx) -> None:
        taken = await tx.scalar(insert)
        await raise_order_id_floor(engine, 10_000)  # another replica starting meanwhile
        assert await engine.write(other) != taken
        raise RolledBackError

    with pytest.raises(RolledBackError):
        await engine.write(pending)


class RolledBackError(Exception):
    """Ends the pending transaction of the test above without committing it."""
