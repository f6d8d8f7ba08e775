"""Customers, points accounts, offers and challenges: reads, and upserts for data loading."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bridge.canonical import Customer, CustomerRef, Offer
from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store.executor import Database, Tx, read_one, read_value
from bridge.store.rows import customer_from_row, offer_from_row
from bridge.store.statements import Query

_CUSTOMER_BY_ID = Query(
    sa.select(t.customers).where(
        t.customers.c.app == sa.bindparam("app"), t.customers.c.id == sa.bindparam("key")
    )
)
_CUSTOMER_BY_EXTERNAL_ID = Query(
    sa.select(t.customers).where(
        t.customers.c.app == sa.bindparam("app"),
        t.customers.c.external_id == sa.bindparam("key"),
    )
)
_BALANCE = Query(
    sa.select(t.points_accounts.c.balance).where(
        t.points_accounts.c.app == sa.bindparam("app"),
        t.points_accounts.c.customer_id == sa.bindparam("customer_id"),
    )
)
_OFFER = Query(
    sa.select(t.offers).where(
        t.offers.c.app == sa.bindparam("app"), t.offers.c.id == sa.bindparam("offer_id")
    )
)
_OFFER_COLUMNS = [column.label(f"offer_{column.name}") for column in t.offers.c]
_OFFER_JOINED = sa.and_(
    t.offers.c.app == t.customers.c.app, t.offers.c.id == sa.bindparam("offer_id")
)
_CUSTOMER_AND_OFFER = {
    by: Query(
        sa.select(*t.customers.c, *_OFFER_COLUMNS)
        .select_from(t.customers.outerjoin(t.offers, _OFFER_JOINED))
        .where(t.customers.c.app == sa.bindparam("app"), column == sa.bindparam("key"))
    )
    for by, column in (("user_id", t.customers.c.id), ("external_id", t.customers.c.external_id))
}
"""A create's customer and offer in one statement: the customer's row with the offer's
columns beside it (all NULL when the app has no such offer; no row: no such customer)."""
_CustomerRow = namedtuple("_CustomerRow", [column.name for column in t.customers.c])  # type: ignore[misc]  # names from the table
_OfferRow = namedtuple("_OfferRow", [column.name for column in t.offers.c])  # type: ignore[misc]  # names from the table
_CUSTOMER_WIDTH = len(t.customers.c)
_CHALLENGE = Query(
    sa.select(sa.func.count()).where(
        t.challenges.c.app == sa.bindparam("app"),
        t.challenges.c.id == sa.bindparam("challenge_id"),
        t.challenges.c.customer_id == sa.bindparam("customer_id"),
        t.challenges.c.offer_id == sa.bindparam("offer_id"),
        t.challenges.c.status == "valid",
    )
)
"""The order path's reads, compiled once per engine (bridge/store/statements.py)."""


class Catalog:
    def __init__(self, db: Database, cipher: EmailCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def customer(self, app: str, user_id: str) -> Customer | None:
        return await self._one_customer(_CUSTOMER_BY_ID, app, user_id)

    async def customer_by_external_id(self, app: str, external_id: str) -> Customer | None:
        return await self._one_customer(_CUSTOMER_BY_EXTERNAL_ID, app, external_id)

    async def _one_customer(self, query: Query, app: str, key: str) -> Customer | None:
        row = await read_one(self._db, query, {"app": app, "key": key})
        return customer_from_row(row, self._cipher) if row else None

    async def customer_and_offer(
        self, app: str, ref: CustomerRef, offer_id: int
    ) -> tuple[Customer | None, Offer | None]:
        """The customer `ref` names and offer `offer_id`, in one statement (one round trip
        on PostgreSQL: a create reads the two together)."""
        by, key = (
            ("user_id", ref.user_id)
            if ref.user_id is not None
            else ("external_id", ref.external_id or "")
        )
        values = {"app": app, "key": key, "offer_id": offer_id}
        row = await read_one(self._db, _CUSTOMER_AND_OFFER[by], values)
        if row is None:
            return None, None
        customer = customer_from_row(_CustomerRow._make(row[:_CUSTOMER_WIDTH]), self._cipher)
        offer: Any = _OfferRow._make(row[_CUSTOMER_WIDTH:])
        return customer, offer_from_row(offer) if offer.id is not None else None

    async def balance(self, app: str, customer_id: str) -> int:
        values = {"app": app, "customer_id": customer_id}
        balance = await read_value(self._db, _BALANCE, values)
        return int(balance or 0)

    async def offer(self, app: str, offer_id: int) -> Offer | None:
        values = {"app": app, "offer_id": offer_id}
        row = await read_one(self._db, _OFFER, values)
        return offer_from_row(row) if row else None

    async def challenge_is_valid(
        self, app: str, challenge_id: int, customer_id: str, offer_id: int
    ) -> bool:
        values = {
            "app": app,
            "challenge_id": challenge_id,
            "customer_id": customer_id,
            "offer_id": offer_id,
        }
        return bool(await read_value(self._db, _CHALLENGE, values))

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

        async def unit(tx: Tx) -> None:
            for customer, points in customers:
                await self._insert_customer(tx, customer, points)
            for offer in offers:
                await _insert_missing(
                    tx, t.offers, {"app": offer.app, "id": offer.id}, offer.model_dump()
                )
            for challenge in challenges:
                key = {"app": challenge["app"], "id": challenge["id"]}
                await _insert_missing(tx, t.challenges, key, challenge)

        await self._db.write(unit)

    async def _insert_customer(self, tx: Tx, customer: Customer, points: int) -> None:
        values = customer.model_dump(exclude={"email"})
        values["email_enc"] = self._cipher.encrypt(customer.email) if customer.email else None
        key = {"app": customer.app, "id": customer.id}
        if await _insert_missing(tx, t.customers, key, values):
            account = {"app": customer.app, "customer_id": customer.id, "balance": points}
            await tx.run(_INSERTS["points_accounts"], account)


async def _insert_missing(
    tx: Tx, table: sa.Table, key: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Insert `values` unless a row with primary key `key` exists; True when inserted."""
    where = [table.c[name] == value for name, value in key.items()]
    if await tx.scalar(sa.select(sa.func.count()).where(*where)):
        return False
    await tx.run(_INSERTS[table.name], values)
    return True


_INSERTS = {
    table.name: Query(sa.insert(table))
    for table in (t.customers, t.points_accounts, t.offers, t.challenges)
}
