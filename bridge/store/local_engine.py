"""The local order engine's transactions: points, stock, ledger and outbox move together.

Every money and stock change is a conditional UPDATE whose row count is checked
(`balance >= cost`, `inventory >= quantity`); the tables' CHECK constraints are the last line
of defence. On SQLite writers begin IMMEDIATE, so two writers never interleave.

Each write may carry an idempotency `KeyClaim`: it is inserted as the transaction's first
statement and names the order before commit, so the key and the write are one unit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.canonical import ErrorCode, Order, OrderStatus, Purchase, Target
from bridge.errors import RuleError
from bridge.store import outbox, units
from bridge.store import tables as t
from bridge.store.idempotency import KeyClaim, attach_order, insert_claim
from bridge.store.ledger import Ledger

FULFILMENT_EMAIL = "fulfilment_email"


class LocalEngineStore:
    def __init__(
        self,
        engine: AsyncEngine,
        ledger: Ledger,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._on_enqueued = on_enqueued

    def _notify_enqueued(self) -> None:
        """Tell the outbox sender, once the transaction has committed, that an email waits."""
        if self._on_enqueued is not None:
            self._on_enqueued()

    async def place(self, purchase: Purchase, claim: KeyClaim | None = None) -> Order:
        """Debit points, take stock, write the order and its ledger entries: all or nothing.

        The order carries the customer's balance after the debit as its `available_points`.
        """

        def unit(conn: sa.Connection) -> Order:
            _claim(conn, claim)
            balance = _debit(conn, purchase)
            _take_stock(conn, purchase)
            order = self._ledger.insert(conn, purchase, Target.LOCAL)
            _record_points(
                conn, order, "order_debit", -purchase.points, balance, purchase.created_at
            )
            if order.status is OrderStatus.APPROVED:
                outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, purchase.created_at)
            _attach(conn, claim, order.id)
            return order.model_copy(update={"available_points": balance})

        order = await units.write(self._engine, unit)
        if order.status is OrderStatus.APPROVED:
            self._notify_enqueued()
        return order

    async def approve(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        def unit(conn: sa.Connection) -> Order:
            _claim(conn, claim)
            approved = Ledger.transition(conn, order, OrderStatus.APPROVED, now)
            outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, now)
            _attach(conn, claim, order.id)
            return approved

        approved = await units.write(self._engine, unit)
        self._notify_enqueued()
        return approved

    async def reject(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Reject, refund the points and restock, in one transaction."""

        def unit(conn: sa.Connection) -> Order:
            _claim(conn, claim)
            rejected = Ledger.transition(conn, order, OrderStatus.REJECTED, now)
            balance = _credit(conn, order)
            restock(conn, order)
            _record_points(conn, order, "order_refund", order.points, balance, now)
            _attach(conn, claim, order.id)
            return rejected

        return await units.write(self._engine, unit)


def restock(conn: sa.Connection, order: Order) -> None:
    """Put the order's quantity back on its offer (an offer without inventory is unlimited)."""
    conn.execute(
        sa.update(t.offers)
        .where(
            t.offers.c.app == order.app,
            t.offers.c.id == order.offer_id,
            t.offers.c.inventory.is_not(None),
        )
        .values(inventory=t.offers.c.inventory + order.quantity)
    )


def _claim(conn: sa.Connection, claim: KeyClaim | None) -> None:
    if claim is not None:
        insert_claim(conn, claim)


def _attach(conn: sa.Connection, claim: KeyClaim | None, order_id: int) -> None:
    if claim is not None:
        attach_order(conn, claim, order_id)


_DEBIT = (
    sa.update(t.points_accounts)
    .where(
        t.points_accounts.c.app == sa.bindparam("b_app"),
        t.points_accounts.c.customer_id == sa.bindparam("b_customer_id"),
        t.points_accounts.c.balance >= sa.bindparam("b_points"),
    )
    .values(balance=t.points_accounts.c.balance - sa.bindparam("b_points"))
    .returning(t.points_accounts.c.balance)
)
_TAKE_STOCK = (
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
_RECORD_POINTS = sa.insert(t.points_ledger)
"""The order path's statements, built once (docs/performance.md)."""


def _debit(conn: sa.Connection, purchase: Purchase) -> int:
    values = {
        "b_app": purchase.app,
        "b_customer_id": purchase.customer.id,
        "b_points": purchase.points,
    }
    balance = conn.execute(_DEBIT, values).scalar()
    if balance is None:
        raise RuleError(
            ErrorCode.OFFER_NOT_AVAILABLE,
            "The customer does not have enough points for this order.",
        )
    return int(balance)


def _take_stock(conn: sa.Connection, purchase: Purchase) -> None:
    values = {
        "b_app": purchase.app,
        "b_offer_id": purchase.offer.id,
        "b_quantity": purchase.quantity,
    }
    if conn.execute(_TAKE_STOCK, values).rowcount != 1:
        raise RuleError(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is out of stock.")


def _credit(conn: sa.Connection, order: Order) -> int:
    accounts = t.points_accounts.c
    result = conn.execute(
        sa.update(t.points_accounts)
        .where(accounts.app == order.app, accounts.customer_id == order.customer_id)
        .values(balance=accounts.balance + order.points)
        .returning(accounts.balance)
    )
    return int(result.scalar_one())


def _record_points(
    conn: sa.Connection, order: Order, kind: str, points: int, balance: int, now: datetime
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
    conn.execute(_RECORD_POINTS, values)
