"""Issue 3's proofs over HTTP, on both engines: concurrent requests never overspend a balance,
oversell an offer or place an order twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, basic_auth
from tests.proofs.data import balance_of, load, orders_of_offer, scalar, stock_of

pytestmark = [pytest.mark.both_engines, pytest.mark.slow]

CHEAP = 100
"""An offer of 10 points without an inventory limit."""
SCARCE = 101
"""An offer of 10 points with an inventory of 10."""
NO_POINTS = (
    b'{"status":"error","errors":{"code":"offer_not_available",'
    b'"message":"The customer does not have enough points for this order."}}'
)
"""The legacy insufficient-points answer, byte for byte."""


@pytest.fixture
async def proof_data(database_url: str, email_key: str) -> None:
    customers = [{"id": "saver", "points": 500}]
    customers += [{"id": f"racer-{n}", "points": 1000} for n in range(100)]
    offers = [
        {"id": CHEAP, "name": "Cheap", "points": 10, "review": "approve"},
        {"id": SCARCE, "name": "Scarce", "points": 10, "inventory": 10, "review": "approve"},
    ]
    await load(database_url, email_key, "demo", {"customers": customers, "offers": offers})


async def post(client: TestClient[Any, Any], path: str, **headers: str) -> tuple[int, bytes]:
    answer = await client.post(
        f"{PREFIX}/{path}", json={"order": {"quantity": 1}}, headers=basic_auth() | headers
    )
    return answer.status, await answer.read()


def codes(answers: list[tuple[int, bytes]]) -> Counter[str]:
    """How many answers were ok, and how many carried each legacy error code."""
    tally: Counter[str] = Counter()
    for _, body in answers:
        document = orjson.loads(body)
        tally[document["errors"]["code"] if document["status"] == "error" else "ok"] += 1
    return tally


async def test_a_balance_for_50_orders_places_exactly_50_of_200(
    client: TestClient[Any, Any], proof_data: None, database_url: str
) -> None:
    path = f"users/saver/offers/{CHEAP}/orders"
    answers = await asyncio.gather(*(post(client, path) for _ in range(200)))
    assert codes(answers) == {"ok": 50, "offer_not_available": 150}
    assert {body for _, body in answers if b'"status":"error"' in body} == {NO_POINTS}
    assert await scalar(database_url, balance_of("demo", "saver")) == 0
    assert await scalar(database_url, orders_of_offer("demo", CHEAP)) == 50


async def test_100_customers_racing_for_10_items_get_exactly_10(
    client: TestClient[Any, Any], proof_data: None, database_url: str
) -> None:
    paths = [f"users/racer-{n}/offers/{SCARCE}/orders" for n in range(100)]
    answers = await asyncio.gather(*(post(client, path) for path in paths))
    assert codes(answers) == {"ok": 10, "offer_not_available": 90}
    assert await scalar(database_url, stock_of("demo", SCARCE)) == 0
    assert await scalar(database_url, orders_of_offer("demo", SCARCE)) == 10


async def test_50_requests_with_one_key_place_one_order(
    client: TestClient[Any, Any], proof_data: None, database_url: str
) -> None:
    path = f"users/saver/offers/{CHEAP}/orders"
    key = {"Idempotency-Key": "one-key"}
    answers = await asyncio.gather(*(post(client, path, **key) for _ in range(50)))
    assert len(set(answers)) == 1
    assert codes(answers) == {"ok": 50}
    assert await scalar(database_url, orders_of_offer("demo", CHEAP)) == 1
    assert await scalar(database_url, balance_of("demo", "saver")) == 490


async def test_one_external_id_sent_by_12_customers_at_once_places_one_order(
    client: TestClient[Any, Any], proof_data: None, database_url: str
) -> None:
    body = {"order": {"quantity": 1, "external_id": "ext-once"}}
    offers = (CHEAP, SCARCE, 1, 3)  # different customers and offers: no row lock in common
    routes = [f"{PREFIX}/users/racer-{n}/offers/{offers[n % 4]}/orders" for n in range(12)]
    answers = await asyncio.gather(
        *(client.post(route, json=body, headers=basic_auth()) for route in routes)
    )
    tally = codes([(answer.status, await answer.read()) for answer in answers])
    assert tally == {"ok": 1, "validation": 11}


async def test_10_concurrent_rejections_refund_once(
    client: TestClient[Any, Any], proof_data: None, database_url: str
) -> None:
    held = {"order": {"quantity": 1, "status": "pending_approval"}}
    created = await client.post(
        f"{PREFIX}/users/saver/offers/{SCARCE}/orders", json=held, headers=basic_auth()
    )
    order_id = (await created.json())["order"]["id"]
    reject = {"order": {"status": "rejected"}}
    answers = await asyncio.gather(
        *(
            client.put(f"{PREFIX}/orders/{order_id}", json=reject, headers=basic_auth())
            for _ in range(10)
        )
    )
    tally = codes([(answer.status, await answer.read()) for answer in answers])
    assert tally == {"ok": 1, "invalid_order_status": 9}
    assert await scalar(database_url, balance_of("demo", "saver")) == 500
    assert await scalar(database_url, stock_of("demo", SCARCE)) == 10
