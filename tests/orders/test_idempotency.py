"""The Idempotency-Key contract over HTTP (docs/idempotency.md), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from bridge.canonical import Order, OrderStatus, Purchase
from bridge.crypto import EmailCipher
from bridge.errors import UpstreamError
from bridge.legacy.idempotent import LEGACY_RENDERER
from bridge.orders.idempotency import Idempotency, WriteRequest
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.executor import open_database, read_value
from bridge.store.idempotency import IdempotencyStore, KeyClaim, holding, insert_claim
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.factories import demo_app
from tests.queries import value_at

pytestmark = pytest.mark.both_engines

CREATE = f"{PREFIX}/users/demo-user-1/offers/1/orders"
ONE = {"order": {"quantity": 1}}
HELD = {"order": {"quantity": 1, "status": "pending_approval"}}
StartBridge = Callable[..., Awaitable[TestClient[Any, Any]]]


def keyed(key: str, **auth: str) -> dict[str, str]:
    return {**basic_auth(**auth), "Idempotency-Key": key}


async def count_orders(database_url: str) -> int:
    return int(await value_at(database_url, sa.select(sa.func.count()).select_from(t.orders)))


async def test_a_replay_returns_the_identical_body(client: TestClient[Any, Any]) -> None:
    first = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    again = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    assert (await first.json())["status"] == "ok"
    assert (again.status, await again.read()) == (first.status, await first.read())


async def test_only_a_replay_is_marked_replayed(client: TestClient[Any, Any]) -> None:
    first = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    again = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_replay_places_no_second_order(
    client: TestClient[Any, Any], database_url: str
) -> None:
    for _ in range(3):
        await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    assert await count_orders(database_url) == 1


async def test_the_same_body_with_keys_reordered_is_the_same_request(
    client: TestClient[Any, Any],
) -> None:
    body = {"order": {"quantity": 1, "email": "a@example.com"}}
    reordered = {"order": {"email": "a@example.com", "quantity": 1}}
    await client.post(CREATE, json=body, headers=keyed("k-1"))
    again = await client.post(CREATE, json=reordered, headers=keyed("k-1"))
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_the_same_key_for_another_body_is_refused(client: TestClient[Any, Any]) -> None:
    await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    other = await client.post(CREATE, json={"order": {"quantity": 2}}, headers=keyed("k-1"))
    body = await other.json()
    assert body["errors"]["code"] == "validation"
    assert "different request" in body["errors"]["message"]


async def test_the_same_key_on_another_route_is_refused(client: TestClient[Any, Any]) -> None:
    await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    other = await client.post(
        f"{PREFIX}/users/demo-user-ca/offers/1/orders", json=ONE, headers=keyed("k-1")
    )
    assert (await other.json())["errors"]["code"] == "validation"


async def test_an_error_answer_is_stored_and_replayed(client: TestClient[Any, Any]) -> None:
    route = f"{PREFIX}/users/demo-user-unregistered/offers/1/orders"
    first = await client.post(route, json=ONE, headers=keyed("k-err"))
    again = await client.post(route, json=ONE, headers=keyed("k-err"))
    assert (await first.json())["errors"]["code"] == "requires_registered_user"
    assert await again.read() == await first.read()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_malformed_request_stores_nothing(client: TestClient[Any, Any]) -> None:
    bad = await client.post(CREATE, data=b"{not json", headers=keyed("k-1"))
    good = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    assert (await bad.json())["errors"]["code"] == "argument_error"
    assert (await good.json())["status"] == "ok"
    assert "Idempotent-Replayed" not in good.headers


async def test_an_unusable_key_is_refused(client: TestClient[Any, Any]) -> None:
    answer = await client.post(CREATE, json=ONE, headers=keyed("x" * 256))
    assert (await answer.json())["errors"]["code"] == "argument_error"


async def test_a_status_update_is_replayed(client: TestClient[Any, Any]) -> None:
    created = await (await client.post(CREATE, json=HELD, headers=basic_auth())).json()
    route = f"{PREFIX}/orders/{created['order']['id']}"
    approve = {"order": {"status": "approved"}}
    first = await client.post(route, json=approve, headers=keyed("k-upd"))
    again = await client.post(route, json=approve, headers=keyed("k-upd"))
    assert (await first.json())["order"]["status"] == "approved"
    assert await again.read() == await first.read()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_status_update_with_a_create_key_is_refused(
    client: TestClient[Any, Any],
) -> None:
    created = await (await client.post(CREATE, json=HELD, headers=keyed("k-1"))).json()
    route = f"{PREFIX}/orders/{created['order']['id']}"
    answer = await client.put(route, json={"order": {"status": "approved"}}, headers=keyed("k-1"))
    assert (await answer.json())["errors"]["code"] == "validation"


async def test_keys_are_scoped_per_app(bridge_client: StartBridge, database_url: str) -> None:
    other = demo_app(name="other", api_key="other-key")
    client = await bridge_client(apps=(demo_app(), other))
    other_create = "/priv/v1/apps/other-key/users/demo-user-1/offers/1/orders"
    await client.post(CREATE, json=ONE, headers=keyed("shared"))
    answer = await client.post(other_create, json=ONE, headers=keyed("shared", user="other-key"))
    assert (await answer.json())["errors"]["code"] == "user_not_found"
    assert "Idempotent-Replayed" not in answer.headers


async def test_an_expired_key_runs_again(bridge_client: StartBridge, database_url: str) -> None:
    clock = ManualClock()
    client = await bridge_client(clock=clock, idempotency_ttl_seconds=60)
    await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    clock.advance(seconds=61)
    again = await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    assert "Idempotent-Replayed" not in again.headers
    assert await count_orders(database_url) == 2


async def test_the_reaper_deletes_expired_keys(
    bridge_client: StartBridge, database_url: str
) -> None:
    clock = ManualClock()
    client = await bridge_client(
        clock=clock, idempotency_ttl_seconds=60, idempotency_reap_seconds=0.05
    )
    await client.post(CREATE, json=ONE, headers=keyed("k-1"))
    clock.advance(seconds=61)
    engine = open_database(database_url)
    try:
        remaining = 1
        for _ in range(200):  # the reaper runs every 50 ms; give it up to 10 s
            count = sa.select(sa.func.count()).select_from(t.idempotency_keys)
            remaining = int(await read_value(engine, count))
            if remaining == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.close()
    assert remaining == 0


async def claim_without_answer(database_url: str, email_key: str, order: bool) -> None:
    """What a crash leaves: the key claimed (with its order, if the write committed), no answer."""
    request = WriteRequest(
        operation="create_order",
        method="POST",
        route="/priv/v1/apps/{api_key}/users/{user_id}/offers/{offer_id}/orders",
        params={"user_id": "demo-user-1", "offer_id": "1"},
        body=ONE,
    )
    now = datetime.now(UTC)
    claim = KeyClaim(
        "demo", "k-crash", request.fingerprint(), "create_order", now, now + timedelta(hours=1)
    )
    engine = open_database(database_url)
    cipher = EmailCipher([email_key])
    try:
        if order:
            catalog = Catalog(engine, cipher)
            customer = await catalog.customer("demo", "demo-user-1")
            offer = await catalog.offer("demo", 1)
            assert customer is not None
            assert offer is not None
            purchase = Purchase(
                app="demo", customer=customer, offer=offer, quantity=1, points=offer.points,
                status=OrderStatus.APPROVED, email=None, ip=None, shipping_address=None,
                challenge_id=None, external_id=None, created_at=now,
            )  # fmt: skip
            with holding(claim):
                await LocalEngineStore(engine, Ledger(engine, cipher)).place(purchase)
        else:
            await engine.write(partial(insert_claim, claim=claim))
    finally:
        await engine.close()


async def test_a_key_whose_answer_was_lost_replays_its_order(
    bridge_client: StartBridge, database_url: str, email_key: str
) -> None:
    await claim_without_answer(database_url, email_key, order=True)
    client = await bridge_client(idempotency_wait_seconds=0.1)
    answer = await client.post(CREATE, json=ONE, headers=keyed("k-crash"))
    assert (await answer.json())["order"]["points"] == 100
    assert answer.headers["Idempotent-Replayed"] == "true"
    assert await count_orders(database_url) == 1


async def test_a_key_still_in_progress_answers_not_available(
    bridge_client: StartBridge, database_url: str, email_key: str
) -> None:
    await claim_without_answer(database_url, email_key, order=False)
    client = await bridge_client(idempotency_wait_seconds=0.1)
    answer = await client.post(CREATE, json=ONE, headers=keyed("k-crash"))
    assert (answer.status, (await answer.json())["errors"]["code"]) == (503, "not_available")


async def test_a_5xx_answer_is_not_stored(database_url: str, email_key: str) -> None:
    clock = ManualClock()
    engine = open_database(database_url)
    store = IdempotencyStore(engine)
    idempotency = Idempotency(
        store,
        Ledger(engine, EmailCipher([email_key])),
        clock,
        ttl=timedelta(hours=1),
        wait=timedelta(seconds=1),
    )

    async def upstream_down() -> Order:
        raise UpstreamError("The upstream is down.", "incentives")

    request = WriteRequest("create_order", "POST", "/route", {}, ONE)
    try:
        with pytest.raises(UpstreamError):
            await idempotency.run("demo", "k-503", request, upstream_down, LEGACY_RENDERER)
        assert await store.find("demo", "k-503", clock.now()) is None
    finally:
        await engine.close()
