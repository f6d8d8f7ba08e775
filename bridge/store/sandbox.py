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
from bridge.store.catalog import Catalog
from bridge.store.executor import Database, IntegrityError, Tx, read_all
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
    def __init__(self, db: Database, cipher: EmailCipher) -> None:
        self._db = db
        self.catalog = Catalog(db, cipher)
        self._ledger = Ledger(db, cipher)
        self._engine_store = LocalEngineStore(db, self._ledger)

    async def offers(self, app: str) -> list[Offer]:
        query = sa.select(t.offers).where(t.offers.c.app == app).order_by(t.offers.c.id)
        return [offer_from_row(row) for row in await read_all(self._db, query)]

    async def purchase_by_key(self, app: str, idempotency_id: str) -> Order | None:
        return await self._ledger.get(app, OrderRef(external_id=idempotency_id))

    async def place(self, purchase: Purchase) -> Order:
        """Spend and issue in one transaction; a concurrent duplicate gets the first order."""
        try:
            return await self._engine_store.place(purchase)
        except (RuleError, IntegrityError) as exc:
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

        async def unit(tx: Tx) -> tuple[list[Any], int]:
            return await tx.all(page), int(await tx.scalar(count) or 0)

        rows, total = await self._db.read(unit)
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

        async def unit(tx: Tx) -> None:
            await Ledger.transition(tx, order, OrderStatus.REJECTED, now)
            await restock(tx, order)

        await self._db.write(unit)

    async def _set_status(self, order: Order, status: OrderStatus, now: datetime) -> None:
        async def unit(tx: Tx) -> Order:
            return await Ledger.transition(tx, order, status, now)

        await self._db.write(unit)

    async def point_history(self, app: str, customer_id: str) -> tuple[list[Order], list[Any]]:
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

        async def unit(tx: Tx) -> tuple[list[Order], list[Any]]:
            orders = [order_from_row(row) for row in await tx.all(purchases)]
            return orders, await tx.all(credits)

        return await self._db.read(unit)

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
        seen = sa.select(sa.func.count()).where(
            deposits.c.app == app, deposits.c.idempotency_id == idempotency_id
        )
        deposit = {
            "app": app,
            "idempotency_id": idempotency_id,
            "customer_id": customer_id,
            "amount": amount,
            "created_at": now,
            "reference_id": reference[0],
            "reference_type": reference[1],
        }
        credit = (
            sa.update(t.points_accounts)
            .where(accounts.app == app, accounts.customer_id == customer_id)
            .values(balance=accounts.balance + amount)
            .returning(accounts.balance)
        )

        async def unit(tx: Tx) -> None:
            if await tx.scalar(seen):
                return
            await tx.run(sa.insert(deposits), deposit)
            balance = int(await tx.scalar(credit))
            entry = {
                "app": app,
                "customer_id": customer_id,
                "order_id": None,
                "kind": "deposit",
                "points": amount,
                "balance_after": balance,
                "created_at": now,
            }
            await tx.run(sa.insert(t.points_ledger), entry)

        await self._db.write(unit)


def create_tables(conn: sa.Connection) -> None:
    """The sandbox-only tables, on a SQLAlchemy connection (bridge/store/database.py
    `run_on_connection`): DDL, off the request path."""
    sandbox_metadata.create_all(conn)
    _add_reference_columns(conn)


def _add_reference_columns(conn: sa.Connection) -> None:
    """Add the deposit reference columns to a sandbox database made before they existed."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(deposits.name)}
    for name in REFERENCE_COLUMNS:
        if name not in present:
            column = deposits.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {deposits.name} ADD COLUMN {name} {kind}"))
