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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.canonical import ErrorCode, Order, OrderStatus, Purchase, Target
from bridge.errors import RuleError
from bridge.store import outbox
from bridge.store import tables as t
from bridge.store.database import write_transaction
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
        """Debit points, take stock, write the order and its ledger entries: all or nothing."""
        async with write_transaction(self._engine) as conn:
            await _claim(conn, claim)
            balance = await _debit(conn, purchase)
            await _take_stock(conn, purchase)
            order = await self._ledger.insert(conn, purchase, Target.LOCAL)
            await _record_points(
                conn, order, "order_debit", -purchase.points, balance, purchase.created_at
            )
            if order.status is OrderStatus.APPROVED:
                await outbox.enqueue(
                    conn, order.app, order.id, FULFILMENT_EMAIL, purchase.created_at
                )
            await _attach(conn, claim, order.id)
        if order.status is OrderStatus.APPROVED:
            self._notify_enqueued()
        return order

    async def approve(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        async with write_transaction(self._engine) as conn:
            await _claim(conn, claim)
            approved = await self._ledger.transition(conn, order, OrderStatus.APPROVED, now)
            await outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, now)
            await _attach(conn, claim, order.id)
        self._notify_enqueued()
        return approved

    async def reject(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Reject, refund the points and restock, in one transaction."""
        async with write_transaction(self._engine) as conn:
            await _claim(conn, claim)
            rejected = await self._ledger.transition(conn, order, OrderStatus.REJECTED, now)
            balance = await _credit(conn, order)
            await restock(conn, order)
            await _record_points(conn, order, "order_refund", order.points, balance, now)
            await _attach(conn, claim, order.id)
        return rejected


async def restock(conn: AsyncConnection, order: Order) -> None:
    """Put the order's quantity back on its offer (an offer without inventory is unlimited)."""
    await conn.execute(
        sa.update(t.offers)
        .where(
            t.offers.c.app == order.app,
            t.offers.c.id == order.offer_id,
            t.offers.c.inventory.is_not(None),
        )
        .values(inventory=t.offers.c.inventory + order.quantity)
    )


async def _claim(conn: AsyncConnection, claim: KeyClaim | None) -> None:
    if claim is not None:
        await insert_claim(conn, claim)


async def _attach(conn: AsyncConnection, claim: KeyClaim | None, order_id: int) -> None:
    if claim is not None:
        await attach_order(conn, claim, order_id)


async def _debit(conn: AsyncConnection, purchase: Purchase) -> int:
    accounts = t.points_accounts.c
    result = await conn.execute(
        sa.update(t.points_accounts)
        .where(
            accounts.app == purchase.app,
            accounts.customer_id == purchase.customer.id,
            accounts.balance >= purchase.points,
        )
        .values(balance=accounts.balance - purchase.points)
        .returning(accounts.balance)
    )
    balance = result.scalar()
    if balance is None:
        raise RuleError(
            ErrorCode.OFFER_NOT_AVAILABLE,
            "The customer does not have enough points for this order.",
        )
    return int(balance)


async def _take_stock(conn: AsyncConnection, purchase: Purchase) -> None:
    offers = t.offers.c
    result = await conn.execute(
        sa.update(t.offers)
        .where(
            offers.app == purchase.app,
            offers.id == purchase.offer.id,
            offers.active.is_(True),
            sa.or_(offers.inventory.is_(None), offers.inventory >= purchase.quantity),
        )
        .values(
            inventory=sa.case(
                (offers.inventory.is_(None), None), else_=offers.inventory - purchase.quantity
            )
        )
    )
    if result.rowcount != 1:
        raise RuleError(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is out of stock.")


async def _credit(conn: AsyncConnection, order: Order) -> int:
    accounts = t.points_accounts.c
    result = await conn.execute(
        sa.update(t.points_accounts)
        .where(accounts.app == order.app, accounts.customer_id == order.customer_id)
        .values(balance=accounts.balance + order.points)
        .returning(accounts.balance)
    )
    return int(result.scalar_one())


async def _record_points(
    conn: AsyncConnection, order: Order, kind: str, points: int, balance: int, now: datetime
) -> None:
    await conn.execute(
        sa.insert(t.points_ledger).values(
            app=order.app,
            customer_id=order.customer_id,
            order_id=order.id,
            kind=kind,
            points=points,
            balance_after=balance,
            created_at=now,
        )
    )
