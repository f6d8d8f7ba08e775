"""A bridge whose list_orders canary (local -> incentives) is analysed, in front of a real
sandbox behind the fault-injecting proxy, on an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bridge.canary.context import CANARY_DECIDER, CANARY_STEPS, CANARY_STORE
from bridge.canary.store import Decision
from bridge.canonical import Target
from bridge.sandbox.faults import FaultyUpstream
from bridge.settings import Settings
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.factories import demo_app
from tests.incentives.conftest import (
    incentives_config,
    sandbox,
    sandbox_database,
    start_sandbox,
)
from tests.reliability.conftest import start_faulty

OPERATION = "list_orders"
INTERVAL = 0.4
"""The plan's interval, in the injected clock's seconds; the decider polls every 0.1 s."""
WAIT = 5.0
"""Bound on every wait for a replica to act: reached only when a test is failing."""
TIMEOUTS = {
    "connect_timeout_seconds": 1.0,
    "read_timeout_seconds": 0.5,
    "total_timeout_seconds": 1.0,
}
CONCURRENCY = 10

Start = Callable[..., Awaitable[TestClient[Any, Any]]]


def analysis(**changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "steps": [20, 50, 100],
        "interval_seconds": INTERVAL,
        "min_calls": 8,
        "limits": {"error_ratio_increase": 0.05, "p99_ratio": None},
    }
    plan.update(changes)
    return plan


def write_policy(path: Path, plan: dict[str, Any], shadow: bool = False) -> Path:
    override: dict[str, Any] = {"canary": {"target": "incentives", "analysis": plan}}
    if shadow:
        override["shadow"] = {"target": "incentives"}
    document = {"apps": {"demo": {"target": "local", "operations": {OPERATION: override}}}}
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
async def faulty(sandbox: TestServer, start_faulty: Any) -> FaultyUpstream:
    upstream: FaultyUpstream = await start_faulty(sandbox)
    return upstream


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def canary_settings(
    make_settings: Callable[..., Settings], faulty: FaultyUpstream, tmp_path: Path, demo_data: None
) -> Callable[..., Settings]:
    def build(
        plan: dict[str, Any] | None = None, shadow: bool = False, **timeouts: float
    ) -> Settings:
        """Settings with `plan` (default: `analysis()`); `timeouts` replace TIMEOUTS' values."""
        limits = TIMEOUTS | timeouts
        app = demo_app(target=Target.LOCAL, incentives=incentives_config(faulty.url, **limits))
        policy = write_policy(tmp_path / "policy.yaml", plan or analysis(), shadow)
        return make_settings(apps=(app,), policy_file=policy)

    return build


async def list_orders(client: TestClient[Any, Any], customers: range) -> list[dict[str, Any]]:
    """One list_orders per customer, concurrently; the answers' bodies."""

    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(number: int) -> dict[str, Any]:
        async with gate:
            response = await client.get(
                f"{PREFIX}/users/user-{number}/orders", headers=basic_auth()
            )
            body: dict[str, Any] = await response.json()
            return body

    return await asyncio.gather(*(one(number) for number in customers))


def store_of(client: TestClient[Any, Any]) -> Any:
    return client.server.app[CANARY_STORE]


def percent_of(client: TestClient[Any, Any]) -> float:
    from bridge.cutover.policy import Operation

    return client.server.app[CANARY_STEPS].percent("demo", Operation(OPERATION))


async def next_decision(client: TestClient[Any, Any], clock: ManualClock) -> Decision:
    """Move the clock one interval and wait for the decision any replica takes."""
    store = store_of(client)
    before = len(await store.history(limit=1000))
    clock.advance(seconds=INTERVAL)
    for _ in range(int(WAIT / 0.05)):
        decisions = await store.history(limit=1000)
        if len(decisions) > before:
            newest: Decision = decisions[0]
            return newest
        await asyncio.sleep(0.05)
    raise AssertionError("no decision within the wait")


async def routes_at(client: TestClient[Any, Any], percent: float) -> None:
    """Wait until the replica routes by `percent`."""
    for _ in range(int(WAIT / 0.05)):
        if percent_of(client) == percent:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica routes at {percent_of(client)} %, not {percent} %")


__all__ = [
    "CANARY_DECIDER",
    "faulty",
    "sandbox",
    "sandbox_database",
    "start_faulty",
    "start_sandbox",
]
