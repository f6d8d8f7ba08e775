"""Proof data: extra customers and offers loaded through the same path as `orders-bridge load`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.dataload import DataFile, load_data
from bridge.store.executor import open_database
from tests.queries import value_at


async def load(database_url: str, email_key: str, app: str, content: dict[str, Any]) -> None:
    """Load one app's customers and offers (data-file format, docs/data-file.md)."""
    engine = open_database(database_url)
    try:
        catalog = Catalog(engine, EmailCipher([email_key]))
        await load_data(catalog, DataFile.model_validate({"apps": {app: content}}))
    finally:
        await engine.close()


async def scalar(database_url: str, query: sa.Select[Any]) -> Any:
    return await value_at(database_url, query)


def balance_of(app: str, customer: str) -> sa.Select[Any]:
    accounts = t.points_accounts.c
    return sa.select(accounts.balance).where(accounts.app == app, accounts.customer_id == customer)


def stock_of(app: str, offer: int) -> sa.Select[Any]:
    return sa.select(t.offers.c.inventory).where(t.offers.c.app == app, t.offers.c.id == offer)


def orders_of_offer(app: str, offer: int) -> sa.Select[Any]:
    orders = t.orders.c
    return sa.select(sa.func.count()).where(orders.app == app, orders.offer_id == offer)
