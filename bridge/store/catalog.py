"""Customers, points accounts, offers and challenges: reads, and upserts for data loading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.canonical import Customer, Offer
from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store import units
from bridge.store.database import write_transaction
from bridge.store.rows import customer_from_row, offer_from_row

_CUSTOMER_BY_ID = sa.select(t.customers).where(
    t.customers.c.app == sa.bindparam("app"), t.customers.c.id == sa.bindparam("key")
)
_CUSTOMER_BY_EXTERNAL_ID = sa.select(t.customers).where(
    t.customers.c.app == sa.bindparam("app"), t.customers.c.external_id == sa.bindparam("key")
)
_BALANCE = sa.select(t.points_accounts.c.balance).where(
    t.points_accounts.c.app == sa.bindparam("app"),
    t.points_accounts.c.customer_id == sa.bindparam("customer_id"),
)
_OFFER = sa.select(t.offers).where(
    t.offers.c.app == sa.bindparam("app"), t.offers.c.id == sa.bindparam("offer_id")
)
"""The order path's reads, built once (docs/performance.md)."""


class Catalog:
    def __init__(self, engine: AsyncEngine, cipher: EmailCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    async def customer(self, app: str, user_id: str) -> Customer | None:
        return await self._one_customer(_CUSTOMER_BY_ID, app, user_id)

    async def customer_by_external_id(self, app: str, external_id: str) -> Customer | None:
        return await self._one_customer(_CUSTOMER_BY_EXTERNAL_ID, app, external_id)

    async def _one_customer(self, query: sa.Select[Any], app: str, key: str) -> Customer | None:
        values = {"app": app, "key": key}
        row = await units.read(self._engine, lambda conn: conn.execute(query, values).first())
        return customer_from_row(row, self._cipher) if row else None

    async def balance(self, app: str, customer_id: str) -> int:
        values = {"app": app, "customer_id": customer_id}
        balance = await units.read(
            self._engine, lambda conn: conn.execute(_BALANCE, values).scalar()
        )
        return int(balance or 0)

    async def offer(self, app: str, offer_id: int) -> Offer | None:
        values = {"app": app, "offer_id": offer_id}
        row = await units.read(self._engine, lambda conn: conn.execute(_OFFER, values).first())
        return offer_from_row(row) if row else None

    async def challenge_is_valid(
        self, app: str, challenge_id: int, customer_id: str, offer_id: int
    ) -> bool:
        query = sa.select(sa.func.count()).where(
            t.challenges.c.app == app,
            t.challenges.c.id == challenge_id,
            t.challenges.c.customer_id == customer_id,
            t.challenges.c.offer_id == offer_id,
            t.challenges.c.status == "valid",
        )
        async with self._engine.connect() as conn:
            return bool((await conn.execute(query)).scalar())

    async def load(
        self,
        customers: Sequence[tuple[Customer, int]],
        offers: Sequence[Offer],
        challenges: Sequence[dict[str, Any]],
    ) -> None:
        """Insert what is missing; rows already present are left as they are (idempotent).

        A points balance is only ever set when its account is created, so loading the same
        file twice never resets a customer's balance or an offer's remaining stock.
        """
        async with write_transaction(self._engine) as conn:
            for customer, points in customers:
                await self._insert_customer(conn, customer, points)
            for offer in offers:
                await _insert_missing(
                    conn, t.offers, {"app": offer.app, "id": offer.id}, offer.model_dump()
                )
            for challenge in challenges:
                key = {"app": challenge["app"], "id": challenge["id"]}
                await _insert_missing(conn, t.challenges, key, challenge)

    async def _insert_customer(
        self, conn: AsyncConnection, customer: Customer, points: int
    ) -> None:
        values = customer.model_dump(exclude={"email"})
        values["email_enc"] = self._cipher.encrypt(customer.email) if customer.email else None
        key = {"app": customer.app, "id": customer.id}
        if await _insert_missing(conn, t.customers, key, values):
            await conn.execute(
                sa.insert(t.points_accounts).values(
                    app=customer.app, customer_id=customer.id, balance=points
                )
            )


async def _insert_missing(
    conn: AsyncConnection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Insert `values` unless a row with primary key `key` exists; True when inserted."""
    where = [table.c[name] == value for name, value in key.items()]
    exists = (await conn.execute(sa.select(sa.func.count()).where(*where))).scalar()
    if exists:
        return False
    await conn.execute(sa.insert(table).values(**values))
    return True
