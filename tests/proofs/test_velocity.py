"""The velocity limit is decided inside the order's own write (issue 16, item 1).

demo/apps.yaml allows 20 approved orders per IP per hour; beyond that an order is held for
review. A burst of 40 concurrent orders from one IP, each from another customer, must approve
at most 20, whether one bridge serves them, two replicas share the database, or
`serve --workers 2` splits them between two processes. A count made before the write would
let most of the burst pass the same count.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import PREFIX, ClientFactory, basic_auth
from tests.proofs.data import load
from tests.test_workers import start_two_workers

pytestmark = [pytest.mark.both_engines, pytest.mark.slow]

LIMIT = 20
"""demo/apps.yaml: velocity max_orders."""
BURST = 40
IP = "198.51.100.40"
CHEAP = 100
Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@pytest.fixture
async def burst_data(database_url: str, email_key: str) -> None:
    customers = [{"id": f"burst-{n}", "points": 1000} for n in range(BURST)]
    offers = [{"id": CHEAP, "name": "Cheap", "points": 10, "review": "approve"}]
    await load(database_url, email_key, "demo", {"customers": customers, "offers": offers})


async def burst(posts: list[Post]) -> Counter[str]:
    """40 orders from one IP at once, spread over `posts`; how many ended in each status."""

    async def one(n: int) -> str:
        body = {"order": {"quantity": 1, "ip": IP}}
        answer = await posts[n % len(posts)](
            f"{PREFIX}/users/burst-{n}/offers/{CHEAP}/orders", body
        )
        assert answer["status"] == "ok", answer
        return str(answer["order"]["status"])

    return Counter(await asyncio.gather(*(one(n) for n in range(BURST))))


def client_post(client: TestClient[Any, Any]) -> Post:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await client.post(path, json=body, headers=basic_auth())
        document: dict[str, Any] = await answer.json()
        return document

    return post


def held_back(statuses: Counter[str]) -> None:
    assert sum(statuses.values()) == BURST
    assert statuses["approved"] == LIMIT, statuses
    assert statuses["pending_approval"] == BURST - LIMIT, statuses


async def test_a_burst_from_one_ip_approves_at_most_the_limit(
    client: TestClient[Any, Any], burst_data: None
) -> None:
    held_back(await burst([client_post(client)]))


async def test_two_replicas_share_the_limit(
    make_settings: Callable[..., Settings],
    demo_data: None,
    burst_data: None,
    aiohttp_client: ClientFactory,
) -> None:
    replicas = [
        await aiohttp_client(create_app(make_settings(), registry=CollectorRegistry()))
        for _ in range(2)
    ]
    held_back(await burst([client_post(replica) for replica in replicas]))


async def test_two_worker_processes_share_the_limit(
    database_url: str, email_key: str, burst_data: None, tmp_path: Path
) -> None:
    process, base = await start_two_workers(database_url, email_key, tmp_path / "serve.log")
    try:
        connector = aiohttp.TCPConnector(limit=BURST, force_close=True)  # both workers get some
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                async with session.post(base + path, json=body, headers=basic_auth()) as answer:
                    document: dict[str, Any] = await answer.json()
                    return document

            held_back(await burst([post]))
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
