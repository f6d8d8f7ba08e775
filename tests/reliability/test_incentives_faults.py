"""The Incentives target behind a failing upstream: legacy errors in time, one order per purchase.

A `FaultyUpstream` proxies a real sandbox, so a purchase that passes it really commits; the
sandbox is then asked directly how many offers the customer holds and how many points are left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from bridge.incentives.config import BreakerPolicy, RetryPolicy
from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from tests.conftest import PREFIX, basic_auth
from tests.incentives.test_lost_purchase import wallet_and_points
from tests.reliability.conftest import sample

Start = Callable[..., Awaitable[Any]]
TIMEOUTS = {"connect_timeout_seconds": 0.5, "read_timeout_seconds": 0.5, "total_timeout_seconds": 1}
CALLS_PER_CREATE = 5
"""A create calls upstream at most this often in sequence (customer, catalog, purchase, wallet,
balances); each call is bounded by `total_timeout_seconds` x at most 3 attempts."""
DEADLINE = CALLS_PER_CREATE * 3 * 1 + 2.0
PURCHASE = "/purchase_offer"

BEFORE_COMMIT = [
    Fault(Kind.STATUS, status=500),
    Fault(Kind.STATUS, status=502),
    Fault(Kind.STATUS, status=503, retry_after="0"),
    Fault(Kind.STATUS, status=429, retry_after="0"),
    Fault(Kind.RESET),
    Fault(Kind.HANG),
    Fault(Kind.TRUNCATED),
    Fault(Kind.INVALID_JSON),
    Fault(Kind.SLOW_BODY, delay=0.3),
]
AFTER_COMMIT = [
    Fault(Kind.STATUS, path=PURCHASE, status=500, after_commit=True),
    Fault(Kind.STATUS, path=PURCHASE, status=502, after_commit=True),
    Fault(Kind.RESET, path=PURCHASE, after_commit=True),
    Fault(Kind.HANG, path=PURCHASE, after_commit=True),
    Fault(Kind.TRUNCATED, path=PURCHASE, after_commit=True),
    Fault(Kind.INVALID_JSON, path=PURCHASE, after_commit=True),
    Fault(Kind.SLOW_BODY, path=PURCHASE, after_commit=True, delay=0.3),
]


def name(fault: Fault) -> str:
    return f"{fault.kind}-{fault.status}" if fault.kind is Kind.STATUS else str(fault.kind)


@pytest.fixture
async def faulty(sandbox: TestServer, start_faulty: Start) -> FaultyUpstream:
    upstream: FaultyUpstream = await start_faulty(sandbox)
    return upstream


@pytest.fixture
def start_bridge(
    faulty: FaultyUpstream, start_incentives_bridge: Start, registry: CollectorRegistry
) -> Start:
    async def start(**changes: Any) -> TestClient[Any, Any]:
        server_like = _Address(faulty.url)
        client: TestClient[Any, Any] = await start_incentives_bridge(
            server_like, registry=registry, **{**TIMEOUTS, **changes}
        )
        return client

    return start


class _Address:
    """Stands in for a TestServer where only the URL is read (tests/incentives/conftest.py)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def make_url(self, path: str) -> str:
        return self._url + path


async def place(bridge: TestClient[Any, Any], key: str | None = None) -> tuple[int, Any]:
    headers = {**basic_auth(), **({"Idempotency-Key": key} if key else {})}
    async with asyncio.timeout(DEADLINE):
        response = await bridge.post(
            f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=headers
        )
        return response.status, await response.json()


@pytest.mark.parametrize("fault", BEFORE_COMMIT, ids=name)
async def test_a_failing_upstream_is_not_available_within_the_deadline(
    fault: Fault, faulty: FaultyUpstream, start_bridge: Start, sandbox: TestServer
) -> None:
    bridge = await start_bridge()
    faulty.inject(fault)

    status, body = await place(bridge)

    assert (status, body) == (
        503,
        {
            "status": "error",
            "errors": {"code": "not_available", "message": body["errors"]["message"]},
        },
    )
    assert await wallet_and_points(sandbox) == (0, 10000)


@pytest.mark.parametrize("fault", AFTER_COMMIT, ids=name)
async def test_a_purchase_whose_answer_is_lost_is_one_order(
    fault: Fault, faulty: FaultyUpstream, start_bridge: Start, sandbox: TestServer
) -> None:
    bridge = await start_bridge()
    faulty.inject(fault)

    status, body = await place(bridge, key="lost-1")
    faulty.inject()
    again, _ = await place(bridge, key="lost-1")

    assert (status, again) in {(200, 200), (503, 200)}, body
    assert await wallet_and_points(sandbox) == (1, 9900)


async def test_the_breaker_opens_and_calls_fail_fast(
    faulty: FaultyUpstream, start_bridge: Start, registry: CollectorRegistry
) -> None:
    bridge = await start_bridge(breaker=BreakerPolicy(failure_threshold=3, reset_seconds=60))
    faulty.inject(Fault(Kind.STATUS, status=502))
    for _ in range(3):
        await place(bridge)
    calls = faulty.tally.calls

    status, _ = await place(bridge)

    assert (status, faulty.tally.calls - calls) == (503, 0)
    assert sample(registry, "bridge_upstream_circuit_state") >= 2


async def test_the_breaker_closes_again_once_the_upstream_recovers(
    faulty: FaultyUpstream, start_bridge: Start, registry: CollectorRegistry
) -> None:
    bridge = await start_bridge(breaker=BreakerPolicy(failure_threshold=3, reset_seconds=0.2))
    faulty.inject(Fault(Kind.STATUS, status=502))
    for _ in range(3):
        await place(bridge)
    faulty.inject()
    await asyncio.sleep(0.3)

    status, body = await place(bridge)

    assert (status, body["status"]) == (200, "ok")
    assert sample(registry, "bridge_upstream_circuit_state") == 0


MIXED_READS = 60
MIXED_PLACES = 20


@pytest.mark.slow
async def test_retries_stay_within_budget_in_a_mixed_run(
    faulty: FaultyUpstream, start_bridge: Start, registry: CollectorRegistry, sandbox: TestServer
) -> None:
    bridge = await start_bridge(breaker=BreakerPolicy(failure_threshold=50, reset_seconds=1))
    faulty.inject(Fault(Kind.STATUS, status=503, percent=10, retry_after="0"))
    statuses: list[int] = []
    for index in range(MIXED_READS + MIXED_PLACES):
        if index % 4 == 0:
            statuses.append((await place(bridge, key=f"mixed-{index}"))[0])
            continue
        async with asyncio.timeout(DEADLINE):
            listed = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
        statuses.append(listed.status)

    retries = sample(registry, "bridge_upstream_retries_total")
    attempts = sample(registry, "bridge_upstream_requests_total", upstream="incentives")
    attempts += sample(registry, "bridge_upstream_requests_total", upstream="core")
    assert set(statuses) <= {200, 503}
    policy = RetryPolicy()  # the budget: the floor of tokens, plus a share of every call
    budget = policy.budget_min_tokens + policy.budget_ratio * (attempts - retries)
    assert retries <= budget, (retries, attempts)
    placed = statuses[::4].count(200)
    assert (await wallet_and_points(sandbox))[0] >= placed
