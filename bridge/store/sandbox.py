"""The Incentives sandbox's store: the local engine's tables seen as Incentives objects.

A sandbox purchase is a local-engine order (status `pending_approval` = issued, `approved` =
redeemed, `rejected` = revoked) whose `external_id` is the purchase's idempotency id, so a
repeated purchase finds the first one. Deposits are kept in a sandbox-only table (created on
start, not part of the bridge's schema) keyed by their idempotency id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.canonical import (
    ErrorCode,
    Offer,
    Order,
    OrderRef,
    OrderStatus,
    Purchase,
)
from bridge.crypto import EmailCipher
from bridge.errors import RuleError
from bridge.store import tables as t
from bridge.store import units
from bridge.store.catalog import Catalog
from bridge.store.database import write_transaction
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore, restock
from bridge.store.rows import offer_from_row, order_from_row

sandbox_metadata = sa.MetaData()

deposits = sa.Table(
    "sandbox_deposits",
    sandbox_metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("idempotency_id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("created_at", t.UtcDateTime, nullable=False),
    sa.Column("reference_id", sa.String(255), nullable=True),
    sa.Column("reference_type", sa.String(64), nullable=True),
)
REFERENCE_COLUMNS = ("reference_id", "reference_type")
"""Added after the table first shipped: `create_tables` adds them to an older sandbox database."""


class SandboxStore:
    def __init__(self, engine: AsyncEngine, cipher: EmailCipher) -> None:
        self._engine = engine
        self.catalog = Catalog(engine, cipher)
        self._ledger = Ledger(engine, cipher)
        self._engine_store = LocalEngineStore(engine, self._ledger)

    async def create_tables(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(sandbox_metadata.create_all)
            await conn.run_sync(_add_reference_columns)

    async def offers(self, app: str) -> list[Offer]:
        query = sa.select(t.offers).where(t.offers.c.app == app).order_by(t.offers.c.id)
        async with self._engine.connect() as conn:
            return [offer_from_row(row) for row in (await conn.execute(query)).all()]

    async def purchase_by_key(self, app: str, idempotency_id: str) -> Order | None:
        return await self._ledger.get(app, OrderRef(external_id=idempotency_id))

    async def place(self, purchase: Purchase) -> Order:
        """Spend and issue in one transaction; a concurrent duplicate gets the first order."""
        try:
            return await self._engine_store.place(purchase)
        except (RuleError, sa.exc.IntegrityError) as exc:
            # SQLite serialises writers, so a duplicate sees the first row (RuleError);
            # PostgreSQL's unique (app, external_id) constraint stops a racing one.
            existing = await self.purchase_by_key(purchase.app, purchase.external_id or "")
            duplicate = not isinstance(exc, RuleError) or exc.code is ErrorCode.VALIDATION
            if duplicate and existing is not None:
                return existing
            raise

    async def order(self, app: str, order_id: int) -> Order | None:
        return await self._ledger.get(app, OrderRef(order_id=order_id))

    async def wallet(
        self, app: str, customer_id: str, skip: int, take: int
    ) -> tuple[list[Order], int]:
        """Issued and redeemed (not revoked) offers, oldest first, and how many there are."""
        where = (
            t.orders.c.app == app,
            t.orders.c.customer_id == customer_id,
            t.orders.c.status != OrderStatus.REJECTED.value,
        )
        page = sa.select(t.orders).where(*where).order_by(t.orders.c.id).offset(skip).limit(take)
        count = sa.select(sa.func.count()).where(*where)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(page)).all()
            total = int((await conn.execute(count)).scalar() or 0)
        return [order_from_row(row) for row in rows], total

    async def redeem(self, order: Order, now: datetime) -> None:
        """Issued -> redeemed; redeeming twice is fine, a revoked offer cannot be redeemed."""
        if order.status is OrderStatus.APPROVED:
            return
        await self._set_status(order, OrderStatus.APPROVED, now)

    async def revoke(self, order: Order, now: datetime) -> None:
        """Take the offer back and restock it (points come back by a separate deposit)."""
        if order.status is OrderStatus.REJECTED:
            return

        def unit(conn: sa.Connection) -> None:
            Ledger.transition(conn, order, OrderStatus.REJECTED, now)
            restock(conn, order)

        await units.write(self._engine, unit)

    async def _set_status(self, order: Order, status: OrderStatus, now: datetime) -> None:
        await units.write(self._engine, lambda conn: Ledger.transition(conn, order, status, now))

    async def point_history(
        self, app: str, customer_id: str
    ) -> tuple[list[Order], list[sa.Row[Any]]]:
        """Every purchase the customer made (revoked ones too) and every deposit, oldest first."""
        purchases = (
            sa.select(t.orders)
            .where(t.orders.c.app == app, t.orders.c.customer_id == customer_id)
            .order_by(t.orders.c.id)
        )
        credits = (
            sa.select(deposits)
            .where(deposits.c.app == app, deposits.c.customer_id == customer_id)
            .order_by(deposits.c.created_at)
        )
        async with self._engine.connect() as conn:
            orders = [order_from_row(row) for row in (await conn.execute(purchases)).all()]
            return orders, list((await conn.execute(credits)).all())

    async def deposit(
        self,
        app: str,
        customer_id: str,
        amount: int,
        idempotency_id: str,
        now: datetime,
        reference: tuple[str | None, str | None] = (None, None),
    ) -> None:
        """Credit points once per idempotency id; `reference` is (reference_id, reference_type)."""
        accounts = t.points_accounts.c
        async with write_transaction(self._engine) as conn:
            seen = sa.select(sa.func.count()).where(
                deposits.c.app == app, deposits.c.idempotency_id == idempotency_id
            )
            if (await conn.execute(seen)).scalar():
                return
            await conn.execute(
                sa.insert(deposits).values(
                    app=app,
                    idempotency_id=idempotency_id,
                    customer_id=customer_id,
                    amount=amount,
                    created_at=now,
                    reference_id=reference[0],
                    reference_type=reference[1],
                )
            )
            balance = await conn.execute(
                sa.update(t.points_accounts)
                .where(accounts.app == app, accounts.customer_id == customer_id)
                .values(balance=accounts.balance + amount)
                .returning(accounts.balance)
            )
            await conn.execute(
                sa.insert(t.points_ledger).values(
                    app=app,
                    customer_id=customer_id,
                    order_id=None,
                    kind="deposit",
                    points=amount,
                    balance_after=int(balance.scalar_one()),
                    created_at=now,
                )
            )


def _add_reference_columns(conn: sa.Connection) -> None:
    """Add the deposit reference columns to a sandbox database made before they existed."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(deposits.name)}
    for name in REFERENCE_COLUMNS:
        if name not in present:
            column = deposits.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {deposits.name} ADD COLUMN {name} {kind}"))
