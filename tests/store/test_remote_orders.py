"""RemoteOrders on both engines: an unknown row's life, its undo job, and what the ledger shows.

A purchase's row is born unknown with its `undo_purchase` job; exactly one of confirm,
discard, give up (void) or the undo's own void ends the unknown state, and list/get never
show a row that is not an order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bridge.canonical import Order, OrderFilter, OrderRef, Target
from bridge.crypto import EmailCipher
from bridge.store import outbox
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.executor import Database, open_database, read_all
from bridge.store.ledger import VOIDED, Ledger
from bridge.store.remote_orders import UNDO_PURCHASE, RemoteOrders
from tests.clocks import SEED_CREATED_AT
from tests.factories import approved_purchase

APP = "demo"
CUSTOMER = "demo-user-1"
NOW = SEED_CREATED_AT
UNDO_AT = NOW + timedelta(seconds=40)


@dataclass
class Store:
    engine: Database
    ledger: Ledger
    catalog: Catalog
    orders: RemoteOrders


@pytest.fixture
async def store(database_url: str, email_key: str, demo_data: None) -> AsyncIterator[Store]:
    engine = open_database(database_url)
    cipher = EmailCipher([email_key])
    ledger = Ledger(engine, cipher)
    yield Store(
        engine, ledger, Catalog(engine, cipher), RemoteOrders(engine, ledger, Target.INCENTIVES)
    )
    await engine.close()


async def opened(store: Store, external_id: str | None = None) -> Order:
    purchase = await approved_purchase(store.catalog, APP, CUSTOMER)
    purchase = replace(purchase, external_id=external_id)
    return await store.orders.open(purchase, UNDO_AT)


async def jobs(store: Store) -> list[tuple[str, str]]:
    """(kind, status) of every outbox row, oldest first."""
    query = sa.select(t.outbox.c.kind, t.outbox.c.status).order_by(t.outbox.c.id)
    return [(row.kind, row.status) for row in await read_all(store.engine, query)]


async def shown(store: Store, order: Order) -> tuple[bool, list[int]]:
    """Whether get finds the order, and the ids list shows."""
    got = await store.ledger.get(APP, OrderRef(order_id=order.id))
    listed = await store.ledger.list(APP, CUSTOMER, OrderFilter(limit=50, page=1))
    return got is not None, [found.id for found in listed]


async def test_a_row_is_born_unknown_hidden_with_its_undo_due(store: Store) -> None:
    order = await opened(store)

    assert await shown(store, order) == (False, [])
    assert await jobs(store) == [(UNDO_PURCHASE, outbox.PENDING)]
    assert await store.orders.unknown_order(APP, order.id) == order


async def test_confirm_shows_the_order_and_cancels_its_undo(store: Store) -> None:
    order = await opened(store)

    confirmed, fulfilment = await store.orders.confirm(order, "uo-1", NOW)

    assert (confirmed, fulfilment is not None) == (True, True)
    assert await shown(store, order) == (True, [order.id])
    assert (UNDO_PURCHASE, outbox.CANCELLED) in await jobs(store)


async def test_discard_deletes_the_row_and_cancels_its_undo(store: Store) -> None:
    order = await opened(store)

    await store.orders.discard(order, NOW)

    assert await store.orders.purchased(order.id) is None
    assert await jobs(store) == [(UNDO_PURCHASE, outbox.CANCELLED)]


async def test_give_up_voids_the_row_and_a_late_confirm_loses(store: Store) -> None:
    order = await opened(store, external_id="ext-1")

    assert await store.orders.give_up(order, NOW, UNDO_AT)
    confirmed, _ = await store.orders.confirm(order, "uo-1", NOW)

    row = await store.orders.purchased(order.id)
    assert row is not None
    assert (confirmed, row.status, row.backend_ref) == (False, VOIDED, None)
    assert await shown(store, order) == (False, [])
    assert await jobs(store) == [(UNDO_PURCHASE, outbox.PENDING)]
    again = await opened(store, external_id="ext-1")  # a voided row lets its external id go
    assert again.id != order.id


async def test_the_undo_voids_an_unknown_row_but_never_a_confirmed_one(store: Store) -> None:
    unknown, confirmed = await opened(store), await opened(store)
    await store.orders.confirm(confirmed, "uo-2", NOW)

    voided = await store.orders.void_unknown(unknown.id, NOW)
    kept = await store.orders.void_unknown(confirmed.id, NOW)

    assert voided is not None
    assert kept is not None
    assert (voided.voided, kept.voided, kept.backend_ref) == (True, False, "uo-2")
    assert await shown(store, confirmed) == (True, [confirmed.id])


async def test_a_found_reference_is_kept_on_the_voided_row(store: Store) -> None:
    order = await opened(store)
    await store.orders.give_up(order, NOW, UNDO_AT)

    await store.orders.record_found(order.id, "uo-3", NOW)

    row = await store.orders.purchased(order.id)
    assert row is not None
    assert (row.voided, row.backend_ref) == (True, "uo-3")
    assert await shown(store, order) == (False, [])
    assert await store.orders.backend_ref(order.id) is None


async def test_postpone_moves_the_undo_to_the_keys_expiry(store: Store) -> None:
    order = await opened(store)
    expiry = NOW + timedelta(days=1)

    await store.orders.postpone(order, expiry)

    claim = outbox.Outbox(store.engine)
    assert await claim.claim(UNDO_AT, UNDO_AT, [UNDO_PURCHASE]) is None
    assert await claim.claim(expiry, expiry, [UNDO_PURCHASE]) is not None
    assert await store.orders.unknown_order(APP, order.id) == order
