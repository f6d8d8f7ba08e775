"""Imported legacy history in the ledger, and the floor that keeps bridge order ids apart.

History rows are read-only copies of orders placed on the legacy API before the cutover,
with their original ids, `target = legacy` and `backend_ref = "legacy:<id>"`. Recording is
idempotent: a row that is already there is updated in place (its status may have moved on
legacy since the last run), never duplicated. An id taken by an order that is not the same
legacy order (another app, another customer) is a conflict: reported, never overwritten.

The id floor: the legacy API and the bridge both hand out integer order ids, and the order
locator relies on the two ranges never overlapping. `raise_order_id_floor` makes every id the
bridge issues from now on greater than the floor (docs/runbook.md, step 0).
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa

from bridge.canonical import Order, Target
from bridge.store import tables as t
from bridge.store.executor import Database, Tx
from bridge.store.statements import POSTGRESQL

FLOOR_APP = "_id_floor"
"""App of the SQLite floor marker row: not a valid app name, so no query of an app sees it."""


class Recorded(enum.StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


def legacy_ref(order_id: int) -> str:
    return f"legacy:{order_id}"


class HistoryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, order: Order) -> Recorded:
        """Insert or refresh one imported legacy order, keeping its id."""

        async def unit(tx: Tx) -> Recorded:
            found = await tx.first(sa.select(t.orders).where(t.orders.c.id == order.id))
            if found is None:
                await tx.run(sa.insert(t.orders), _values(order))
                outcome = Recorded.INSERTED
            else:
                outcome = await _refresh(tx, found, order)
            if outcome is Recorded.INSERTED and tx.engine == POSTGRESQL:
                await _advance_sequence(tx, order.id)
            return outcome

        return await self._db.write(unit)


async def _refresh(tx: Tx, found: Any, order: Order) -> Recorded:
    same = (
        found.app == order.app
        and found.customer_id == order.customer_id
        and found.backend_ref == legacy_ref(order.id)
    )
    if not same:
        return Recorded.CONFLICT
    if found.status == order.status.value:
        return Recorded.UNCHANGED
    await tx.run(
        sa.update(t.orders).where(t.orders.c.id == order.id).values(status=order.status.value)
    )
    return Recorded.UPDATED


def _values(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "app": order.app,
        "customer_id": order.customer_id,
        "offer_id": order.offer_id,
        "quantity": order.quantity,
        "points": order.points,
        "status": order.status.value,
        "target": Target.LEGACY.value,
        "backend_ref": legacy_ref(order.id),
        "external_id": order.external_id,
        "name": order.name,
        "logo": order.logo,
        "description": order.description,
        "offer_type": order.offer_type,
        "shipping_address": (
            order.shipping_address.model_dump(exclude_none=True) if order.shipping_address else None
        ),
        "created_at": order.created_at,
        "updated_at": order.created_at,
    }


async def raise_order_id_floor(db: Database, floor: int) -> None:
    """Make every order id the bridge issues from now on greater than `floor` (idempotent)."""
    if floor <= 0:
        return

    async def unit(tx: Tx) -> None:
        if tx.engine == POSTGRESQL:
            await _advance_sequence(tx, floor)
            return
        highest = await tx.scalar(sa.select(sa.func.max(t.orders.c.id))) or 0
        if highest < floor:
            await tx.run(sa.insert(t.orders).values(**_floor_marker(floor)))

    await db.write(unit)


async def _advance_sequence(tx: Tx, value: int) -> None:
    """PostgreSQL: make the id sequence issue ids above `value`; never move it backwards.

    Moving it back (to MAX(id), say) could hand out again an id another replica has just
    taken in a transaction not yet committed, so the sequence only ever moves forward.
    """
    await tx.run(
        sa.text(
            "SELECT setval(s.seq, :value) FROM "
            "(SELECT pg_get_serial_sequence('orders', 'id')::regclass AS seq) AS s "
            "WHERE COALESCE(pg_sequence_last_value(s.seq), 0) < :value"
        ),
        {"value": value},
    )


def _floor_marker(floor: int) -> dict[str, Any]:
    """SQLite issues max(id) + 1, so the floor is held by one marker row at that id."""
    return {
        "id": floor,
        "app": FLOOR_APP,
        "customer_id": FLOOR_APP,
        "offer_id": 0,
        "quantity": 1,
        "points": 0,
        "status": "rejected",
        "target": Target.LOCAL.value,
        "name": "order id floor",
        "offer_type": "marker",
        "created_at": sa.func.current_timestamp(),
        "updated_at": sa.func.current_timestamp(),
    }
