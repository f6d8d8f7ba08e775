"""The automated canary end to end: a real bridge routes list_orders (local, canary on
incentives through the fault-injecting proxy in front of a real sandbox), the decider in the
bridge decides on an injected clock, and the shared state tells every replica."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bridge.app import create_app
from bridge.canary.operator import command
from bridge.canary.plan import Command
from bridge.cutover.policy import CanaryAnalysis
from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from bridge.settings import Settings
from tests.canary.conftest import (
    INTERVAL,
    analysis,
    list_orders,
    next_decision,
    percent_of,
    routes_at,
    store_of,
)
from tests.clocks import ManualClock
from tests.reliability.conftest import sample

CALLS = range(60)
"""Customers per round: about 12 in a 20 % canary (their buckets are fixed)."""
KEY = ("demo", "list_orders")
DELAY = 1.0
"""The fault proxy's delay in the latency test: every canary call waits this long upstream."""
LATENCY_LIMIT = 3.0
"""The latency test's p99 ratio limit (the local baseline answers in milliseconds)."""

Build = Callable[..., Settings]


async def start(
    aiohttp_client: Any, settings: Settings, clock: ManualClock, registry: Any = None
) -> TestClient[Any, Any]:
    app = create_app(settings, registry=registry or CollectorRegistry(), clock=clock)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


async def test_a_healthy_canary_advances_through_every_step_to_100(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock
) -> None:
    registry = CollectorRegistry()
    client = await start(aiohttp_client, canary_settings(), clock, registry)
    await routes_at(client, 20)
    outcomes = []
    for _ in range(6):
        await list_orders(client, CALLS)
        decision = await next_decision(client, clock)
        outcomes.append((decision.outcome, decision.to_percent))
        if decision.to_percent == 100:
            break
    assert ("advance", 100) in outcomes
    assert [o for o in outcomes if o[0] != "hold"] == [("advance", 50), ("advance", 100)]
    await routes_at(client, 100)
    assert sample(registry, "bridge_canary_step", app="demo", operation="list_orders") == 100
    advanced = {"app": "demo", "operation": "list_orders", "outcome": "advance"}
    assert sample(registry, "bridge_canary_decisions_total", **advanced, reason="healthy") == 2


@pytest.mark.parametrize(
    "fault",
    [Fault(Kind.STATUS, status=503), Fault(Kind.RESET), Fault(Kind.HANG)],
    ids=["5xx", "reset", "timeout"],
)
async def test_a_failing_upstream_rolls_back_within_one_interval(
    canary_settings: Build,
    aiohttp_client: Any,
    clock: ManualClock,
    faulty: FaultyUpstream,
    fault: Fault,
) -> None:
    client = await start(aiohttp_client, canary_settings(), clock)
    await routes_at(client, 20)
    faulty.inject(fault)
    bodies = await list_orders(client, CALLS)
    assert any(body["errors"]["code"] == "not_available" for body in bodies)
    decision = await next_decision(client, clock)
    assert (decision.outcome, decision.reason) == ("rollback", "error_ratio"), decision.figures
    assert (decision.from_percent, decision.to_percent) == (20, 0)
    assert decision.figures["canary_failures"] > 0
    assert decision.figures["baseline_failures"] == 0
    await routes_at(client, 0)
    plans = await store_of(client).plans()
    assert plans[KEY].status == "rolled_back"


async def test_a_slow_upstream_rolls_back_for_latency_within_one_interval(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock, faulty: FaultyUpstream
) -> None:
    """The fault proxy's delay, well inside the client's timeouts: no call fails, and the
    canary is rolled back for its p99 alone (the error limit is off), the delay in its p99."""
    plan = analysis(limits={"error_ratio_increase": None, "p99_ratio": LATENCY_LIMIT})
    settings = canary_settings(plan, read_timeout_seconds=5.0, total_timeout_seconds=10.0)
    client = await start(aiohttp_client, settings, clock)
    await routes_at(client, 20)
    faulty.inject(Fault(Kind.LATENCY, delay=DELAY))

    await list_orders(client, CALLS)
    decision = await next_decision(client, clock)

    assert (decision.outcome, decision.reason) == ("rollback", "latency"), decision.figures
    assert (decision.from_percent, decision.to_percent) == (20, 0)
    figures = decision.figures
    assert (figures["canary_failures"], figures["baseline_failures"]) == (0, 0)
    assert figures["canary_calls"] == faulty.tally.faults  # every canary call was delayed
    assert (figures["canary_p99_seconds"] or 0) >= DELAY
    assert (figures["p99_ratio"] or 0) > LATENCY_LIMIT
    await routes_at(client, 0)


async def test_the_timeline_says_when_and_why(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock, faulty: FaultyUpstream
) -> None:
    settings = canary_settings().model_copy(update={"admin_token": SecretStr("t0ken")})
    client = await start(aiohttp_client, settings, clock)
    await routes_at(client, 20)
    faulty.inject(Fault(Kind.STATUS, status=503))
    await list_orders(client, CALLS)
    await next_decision(client, clock)
    headers = {"Authorization": "Bearer t0ken"}
    page = await (await client.get("/_bridge/canary/timeline", headers=headers)).text()
    assert "rollback" in page
    assert "error_ratio" in page
    assert "20 % → 0 %" in page
    body = await (await client.get("/_bridge/canary", headers=headers)).json()
    assert body["plans"][0]["status"] == "rolled_back"
    assert [d["outcome"] for d in body["decisions"]] == ["rollback", "start"]
    refused = await client.get("/_bridge/canary")
    assert (await refused.json())["errors"]["code"] == "access_denied"


async def test_too_little_traffic_holds(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock
) -> None:
    client = await start(aiohttp_client, canary_settings(), clock)
    await routes_at(client, 20)
    await list_orders(client, range(3))
    decision = await next_decision(client, clock)
    assert (decision.outcome, decision.reason) == ("hold", "not_enough_data")
    assert percent_of(client) == 20


async def test_pause_stops_decisions_and_resume_restarts_them(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock
) -> None:
    client = await start(aiohttp_client, canary_settings(), clock)
    await routes_at(client, 20)
    store = store_of(client)
    plan = CanaryAnalysis.model_validate(analysis())
    await command(store, KEY, plan, Command.PAUSE, clock.now(), "operator:test")
    await list_orders(client, CALLS)
    for _ in range(3):
        with pytest.raises(AssertionError, match="no decision"):
            await next_decision_quickly(client, clock)
    assert [d.outcome for d in await store.history()] == ["pause", "start"]
    await command(store, KEY, plan, Command.RESUME, clock.now(), "operator:test")
    await list_orders(client, CALLS)
    decision = await next_decision(client, clock)
    assert (decision.outcome, decision.to_percent) == ("advance", 50)


async def next_decision_quickly(client: TestClient[Any, Any], clock: ManualClock) -> Any:
    """next_decision, waiting only a few of the decider's polls."""
    import tests.canary.conftest as shared

    saved, shared.WAIT = shared.WAIT, 0.5
    try:
        return await next_decision(client, clock)
    finally:
        shared.WAIT = saved


async def test_a_restart_keeps_the_step(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock
) -> None:
    settings = canary_settings()
    first = await start(aiohttp_client, settings, clock)
    await routes_at(first, 20)
    await list_orders(first, CALLS)
    assert (await next_decision(first, clock)).to_percent == 50
    await first.close()
    again = await start(aiohttp_client, settings, clock)
    assert percent_of(again) == 50  # read at start-up, before any call


def test_interval_is_what_the_waits_assume() -> None:
    assert INTERVAL <= 0.5


async def test_the_status_page_names_an_automated_canary(
    canary_settings: Build, aiohttp_client: Any, clock: ManualClock
) -> None:
    settings = canary_settings().model_copy(update={"admin_token": SecretStr("t0ken")})
    client = await start(aiohttp_client, settings, clock)
    response = await client.get("/_bridge/", headers={"Authorization": "Bearer t0ken"})
    assert response.status == 200
    assert "incentives automated" in await response.text()
