"""The local order engine's transactions: points, stock, ledger and outbox move together.

Every money and stock change is a conditional UPDATE whose row count is checked
(`balance >= cost`, `inventory >= quantity`); the tables' CHECK constraints are the last line
of defence. On SQLite writers begin IMMEDIATE, so two writers never interleave.

A keyed write (inside `holding(claim)`, bridge/store/idempotency.py) takes its key as the
transaction's first statement and names the order before commit, so the key and the write
are one unit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from bridge.canonical import Order, OrderStatus, Purchase, Target
from bridge.errors import InsufficientPoints, OutOfStock
from bridge.store import outbox, pg_placement
from bridge.store import tables as t
from bridge.store.executor import Database, Tx, Unit
from bridge.store.idempotency import name_order, take_key
from bridge.store.ledger import Ledger
from bridge.store.statements import POSTGRESQL, Query

FULFILMENT_EMAIL = "fulfilment_email"


class LocalEngineStore:
    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._on_enqueued = on_enqueued

    def _notify_enqueued(self) -> None:
        """Tell the outbox sender, once the transaction has committed, that an email waits."""
        if self._on_enqueued is not None:
            self._on_enqueued()

    async def place(self, purchase: Purchase) -> Order:
        """Debit points, take stock, write the order and its ledger entries: all or nothing.

        The order carries the customer's balance after the debit as its `available_points`.
        On PostgreSQL the same statements run as one (bridge/store/pg_placement.py).
        """
        if self._db.engine == POSTGRESQL:
            order = await pg_placement.place(self._db, self._ledger, purchase)
        else:
            order = await self._db.write(self._placement(purchase))
        if order.status is OrderStatus.APPROVED:
            self._notify_enqueued()
        return order

    def _placement(self, purchase: Purchase) -> Unit[Order]:
        """The placement as a unit of work."""

        async def unit(tx: Tx) -> Order:
            await take_key(tx)
            balance = await _debit(tx, purchase)
            await _take_stock(tx, purchase)
            order = await self._ledger.insert(tx, purchase, Target.LOCAL)
            await _record_points(
                tx, order, "order_debit", -purchase.points, balance, purchase.created_at
            )
            if order.status is OrderStatus.APPROVED:
                await outbox.enqueue(tx, order.app, order.id, FULFILMENT_EMAIL, purchase.created_at)
            await name_order(tx, order.id)
            return order.model_copy(update={"available_points": balance})

        return unit

    async def approve(self, order: Order, now: datetime) -> Order:
        async def unit(tx: Tx) -> Order:
            await take_key(tx)
            approved = await Ledger.transition(tx, order, OrderStatus.APPROVED, now)
            await outbox.enqueue(tx, order.app, order.id, FULFILMENT_EMAIL, now)
            await name_order(tx, order.id)
            return approved

        approved = await self._db.write(unit)
        self._notify_enqueued()
        return approved

    async def reject(self, order: Order, now: datetime) -> Order:
        """Reject, refund the points and restock, in one transaction."""

        async def unit(tx: Tx) -> Order:
            await take_key(tx)
            rejected = await Ledger.transition(tx, order, OrderStatus.REJECTED, now)
            balance = await _credit(tx, order)
            await restock(tx, order)
            await _record_points(tx, order, "order_refund", order.points, balance, now)
            await name_order(tx, order.id)
            return rejected

        return await self._db.write(unit)


async def restock(tx: Tx, order: Order) -> None:
    """Put the order's quantity back on its offer (an offer without inventory is unlimited)."""
    values = {"b_app": order.app, "b_offer_id": order.offer_id, "b_quantity": order.quantity}
    await tx.run(_RESTOCK, values)


_DEBIT = Query(
    sa.update(t.points_accounts)
    .where(
        t.points_accounts.c.app == sa.bindparam("b_app"),
        t.points_accounts.c.customer_id == sa.bindparam("b_customer_id"),
        t.points_accounts.c.balance >= sa.bindparam("b_points"),
    )
    .values(balance=t.points_accounts.c.balance - sa.bindparam("b_points"))
    .returning(t.points_accounts.c.balance)
)
_TAKE_STOCK = Query(
    sa.update(t.offers)
    .where(
        t.offers.c.app == sa.bindparam("b_app"),
        t.offers.c.id == sa.bindparam("b_offer_id"),
        t.offers.c.active.is_(True),
        sa.or_(t.offers.c.inventory.is_(None), t.offers.c.inventory >= sa.bindparam("b_quantity")),
    )
    .values(
        inventory=sa.case(
            (t.offers.c.inventory.is_(None), None),
            else_=t.offers.c.inventory - sa.bindparam("b_quantity"),
        )
    )
)
_RECORD_POINTS = Query(sa.insert(t.points_ledger))
_RESTOCK = Query(
    sa.update(t.offers)
    .where(
        t.offers.c.app == sa.bindparam("b_app"),
        t.offers.c.id == sa.bindparam("b_offer_id"),
        t.offers.c.inventory.is_not(None),
    )
    .values(inventory=t.offers.c.inventory + sa.bindparam("b_quantity"))
)
_CREDIT = Query(
    sa.update(t.points_accounts)
    .where(
        t.points_accounts.c.app == sa.bindparam("b_app"),
        t.points_accounts.c.customer_id == sa.bindparam("b_customer_id"),
    )
    .values(balance=t.points_accounts.c.balance + sa.bindparam("b_points"))
    .returning(t.points_accounts.c.balance)
)
"""The order path's statements, compiled once per engine (bridge/store/statements.py)."""


async def _debit(tx: Tx, purchase: Purchase) -> int:
    values = {
        "b_app": purchase.app,
        "b_customer_id": purchase.customer.id,
        "b_points": purchase.points,
    }
    balance = await tx.scalar(_DEBIT, values)
    if balance is None:
        raise InsufficientPoints(purchase.customer.id, cost=purchase.points)
    return int(balance)


async def _take_stock(tx: Tx, purchase: Purchase) -> None:
    values = {
        "b_app": purchase.app,
        "b_offer_id": purchase.offer.id,
        "b_quantity": purchase.quantity,
    }
    if await tx.run(_TAKE_STOCK, values) != 1:
        raise OutOfStock(purchase.offer.id, quantity=purchase.quantity)


async def _credit(tx: Tx, order: Order) -> int:
    values = {"b_app": order.app, "b_customer_id": order.customer_id, "b_points": order.points}
    return int(await tx.scalar(_CREDIT, values))


async def _record_points(
    tx: Tx, order: Order, kind: str, points: int, balance: int, now: datetime
) -> None:
    values = {
        "app": order.app,
        "customer_id": order.customer_id,
        "order_id": order.id,
        "kind": kind,
        "points": points,
        "balance_after": balance,
        "created_at": now,
    }
    await tx.run(_RECORD_POINTS, values)
