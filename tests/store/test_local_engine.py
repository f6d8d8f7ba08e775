"""The local engine's money and stock paths and their last lines of defence, on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge.canonical import Purchase
from bridge.crypto import EmailCipher
from bridge.errors import RuleError
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.executor import Database, IntegrityError, change, open_database, read_value
from bridge.store.idempotency import IdempotencyStore, KeyClaim, KeyTakenError, holding
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from tests.clocks import SEED_CREATED_AT
from tests.factories import approved_purchase

pytestmark = pytest.mark.both_engines


@dataclass
class Store:
    engine: Database
    catalog: Catalog
    local: LocalEngineStore


@pytest.fixture
async def store(database_url: str, email_key: str, demo_data: None) -> AsyncIterator[Store]:
    engine = open_database(database_url)
    cipher = EmailCipher([email_key])
    yield Store(engine, Catalog(engine, cipher), LocalEngineStore(engine, Ledger(engine, cipher)))
    await engine.close()


async def purchase(store: Store, quantity: int = 1, customer: str = "demo-user-1") -> Purchase:
    return await approved_purchase(store.catalog, "demo", customer, quantity=quantity)


def claim(key: str = "k-1", days: int = 1) -> KeyClaim:
    expires = SEED_CREATED_AT + timedelta(days=days)
    return KeyClaim("demo", key, "f" * 64, "create_order", SEED_CREATED_AT, expires)


async def write(engine: Database, statement: sa.Executable) -> None:
    await change(engine, statement)


async def count(engine: Database, table: sa.Table) -> int:
    return int(await read_value(engine, sa.select(sa.func.count()).select_from(table)))


async def test_a_negative_balance_is_refused_by_the_schema(store: Store) -> None:
    with pytest.raises(IntegrityError):
        await write(store.engine, sa.update(t.points_accounts).values(balance=-1))


async def test_negative_stock_is_refused_by_the_schema(store: Store) -> None:
    with pytest.raises(IntegrityError):
        await write(store.engine, sa.update(t.offers).values(inventory=-1))


async def test_an_unknown_key_status_is_refused_by_the_schema(store: Store) -> None:
    row = {"app": "demo", "key": "k", "fingerprint": "f", "operation": "create_order"}
    row |= {"status": "weird", "created_at": SEED_CREATED_AT, "expires_at": SEED_CREATED_AT}
    with pytest.raises(IntegrityError):
        await write(store.engine, sa.insert(t.idempotency_keys).values(row))


async def test_a_done_key_without_a_response_is_refused_by_the_schema(store: Store) -> None:
    row = {"app": "demo", "key": "k", "fingerprint": "f", "operation": "create_order"}
    row |= {"status": "done", "created_at": SEED_CREATED_AT, "expires_at": SEED_CREATED_AT}
    with pytest.raises(IntegrityError):
        await write(store.engine, sa.insert(t.idempotency_keys).values(row))


async def test_concurrent_debits_never_overspend(store: Store) -> None:
    # demo-user-1 has 10000 points; each order costs 100 x 25 = 2500, so exactly 4 fit
    attempts = [store.local.place(await purchase(store, quantity=25)) for _ in range(12)]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    placed = [result for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, RuleError)]
    assert (len(placed), len(refused)) == (4, 8)
    assert await store.catalog.balance("demo", "demo-user-1") == 0


async def test_a_key_is_claimed_by_one_write_only(store: Store) -> None:
    with holding(claim()):
        await store.local.place(await purchase(store))
    with pytest.raises(KeyTakenError), holding(claim()):
        await store.local.place(await purchase(store))
    assert await count(store.engine, t.orders) == 1


async def test_a_claim_names_its_order(store: Store) -> None:
    with holding(claim()):
        order = await store.local.place(await purchase(store))
    stored = await IdempotencyStore(store.engine).find("demo", "k-1", SEED_CREATED_AT)
    assert stored is not None
    assert stored.order_id == order.id


async def test_a_refused_write_releases_its_claim(store: Store) -> None:
    with pytest.raises(RuleError), holding(claim()):
        await store.local.place(await purchase(store, quantity=101))
    assert await IdempotencyStore(store.engine).find("demo", "k-1", SEED_CREATED_AT) is None
    assert await store.catalog.balance("demo", "demo-user-1") == 10000


async def test_the_reaper_keeps_live_keys(store: Store) -> None:
    for held in (claim("old"), claim("new", days=3)):
        with holding(held):
            await store.local.place(await purchase(store))
    removed = await IdempotencyStore(store.engine).reap(SEED_CREATED_AT + timedelta(days=2))
    assert removed == 1
    assert await count(store.engine, t.idempotency_keys) == 1
