"""Idempotency keys in the store: only the request holding a claim settles it (both engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial

import pytest

from bridge.store.executor import Database, open_database
from bridge.store.idempotency import DONE, IN_PROGRESS, IdempotencyStore, KeyClaim, insert_claim
from tests.clocks import SEED_CREATED_AT

NOW = SEED_CREATED_AT


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Database]:
    engine = open_database(database_url)
    yield engine
    await engine.close()


def claim() -> KeyClaim:
    return KeyClaim("demo", "k", "f" * 64, "create_order", NOW, NOW + timedelta(hours=1))


async def hold(engine: Database, held: KeyClaim) -> None:
    """Commit a claim on its own, as a backend that calls out does before it does."""
    await engine.write(partial(insert_claim, claim=held))


async def test_an_answer_without_a_claim_is_stored(engine: Database) -> None:
    store = IdempotencyStore(engine)
    assert await store.record(claim(), 200, '{"status":"error"}', None) is None
    stored = await store.find("demo", "k", NOW)
    assert stored is not None
    assert (stored.status, stored.response_body) == (DONE, '{"status":"error"}')


async def test_the_holder_settles_its_claim(engine: Database) -> None:
    store = IdempotencyStore(engine)
    mine = claim()
    await hold(engine, mine)
    assert await store.record(mine, 200, '{"status":"ok"}', 7) is None
    stored = await store.find("demo", "k", NOW)
    assert stored is not None
    assert (stored.status, stored.order_id) == (DONE, 7)


async def test_a_duplicate_cannot_settle_a_claim_it_does_not_hold(engine: Database) -> None:
    store = IdempotencyStore(engine)
    await hold(engine, claim())
    other = await store.record(claim(), 200, '{"status":"error"}', None)
    assert other is not None
    assert other.status == IN_PROGRESS


async def test_an_expired_key_is_not_found(engine: Database) -> None:
    store = IdempotencyStore(engine)
    await store.record(claim(), 200, "{}", None)
    assert await store.find("demo", "k", NOW + timedelta(hours=1)) is None
