"""Ledger rows of orders a remote backend holds (the Incentives target).

The ledger row is written *before* the upstream purchase, with no `backend_ref`: that is the
recorded "unknown upstream" state. Once the upstream answers, the row is confirmed with the
upstream's `user_offer_id` (as `backend_ref`) or, when the upstream refused, discarded (nothing
was spent, so there is no order). A row still unknown is settled by the reconciler; it is
never guessed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.canonical import Order, OrderStatus, Purchase, Target
from bridge.store import outbox
from bridge.store import tables as t
from bridge.store.database import WRITE
from bridge.store.idempotency import KeyClaim, attach_order, insert_claim
from bridge.store.ledger import Ledger
from bridge.store.rows import order_from_row

FULFILMENT_EMAIL = "fulfilment_email"


class RemoteOrders:
    def __init__(self, engine: AsyncEngine, ledger: Ledger, target: Target) -> None:
        self._engine = engine
        self._ledger = ledger
        self._target = target

    async def open(self, purchase: Purchase, claim: KeyClaim | None) -> Order:
        """Write the order's ledger row in the unknown state (and its idempotency claim)."""
        async with self._write() as conn:
            if claim is not None:
                await insert_claim(conn, claim)
            return await self._ledger.insert(conn, purchase, self._target)

    async def confirm(
        self, order: Order, backend_ref: str, now: datetime, claim: KeyClaim | None
    ) -> None:
        """Record the upstream reference; an approved order's fulfilment email is queued."""
        orders = t.orders.c
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(t.orders)
                .where(orders.id == order.id, orders.backend_ref.is_(None))
                .values(backend_ref=backend_ref, updated_at=now)
            )
            if result.rowcount == 1 and order.status is OrderStatus.APPROVED:
                await outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, now)
            if claim is not None:
                await attach_order(conn, claim, order.id)

    async def discard(self, order: Order) -> None:
        """The upstream refused the purchase: nothing was spent, so the order never existed."""
        async with self._write() as conn:
            await conn.execute(
                sa.delete(t.orders).where(
                    t.orders.c.id == order.id, t.orders.c.backend_ref.is_(None)
                )
            )

    async def backend_ref(self, order_id: int) -> str | None:
        query = sa.select(t.orders.c.backend_ref).where(t.orders.c.id == order_id)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def unknown(self, app: str, customer_id: str) -> list[Order]:
        """The customer's orders whose upstream outcome is not recorded yet, oldest first."""
        orders = t.orders.c
        query = (
            sa.select(t.orders)
            .where(
                orders.app == app,
                orders.customer_id == customer_id,
                orders.target == self._target.value,
                orders.backend_ref.is_(None),
            )
            .order_by(orders.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [order_from_row(row) for row in rows]

    async def transition(
        self, order: Order, status: OrderStatus, now: datetime, claim: KeyClaim | None
    ) -> Order:
        """Approve or reject in the ledger once the upstream has done its part."""
        async with self._write() as conn:
            if claim is not None:
                await insert_claim(conn, claim)
            updated = await self._ledger.transition(conn, order, status, now)
            if status is OrderStatus.APPROVED:
                await outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, now)
            if claim is not None:
                await attach_order(conn, claim, order.id)
        return updated

    def _write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return _write_transaction(self._engine)


@asynccontextmanager
async def _write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction (BEGIN IMMEDIATE on SQLite)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**WRITE)
        async with conn.begin():
            yield conn
