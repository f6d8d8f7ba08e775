"""Two replicas on one database: one decision per interval, and both route by it within
a poll of the decider (at most a second; 0.1 s here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.settings import Settings
from bridge.shadow.pages import SHADOW_BOARD
from bridge.store.shadow_diffs import Comparison
from tests.canary.conftest import analysis, list_orders, next_decision, routes_at, store_of
from tests.clocks import ManualClock

pytestmark = pytest.mark.both_engines

CALLS = range(60)
POLLS = 0.3
"""Three of the decider's polls: long enough for a second decision to show, were there one."""


async def test_two_replicas_take_one_decision_per_interval_and_both_route_by_it(
    canary_settings: Callable[..., Settings], aiohttp_client: Any, clock: ManualClock
) -> None:
    settings = canary_settings()
    replicas = [
        await aiohttp_client(create_app(settings, registry=CollectorRegistry(), clock=clock))
        for _ in range(2)
    ]
    for replica in replicas:
        await routes_at(replica, 20)
    seen: list[float] = []
    for _ in range(6):
        await asyncio.gather(*(list_orders(replica, CALLS) for replica in replicas))
        decision = await next_decision(replicas[0], clock)
        await asyncio.sleep(POLLS)
        at_this_time = [d for d in await store_of(replicas[1]).history() if d.at == decision.at]
        assert len(at_this_time) == 1, at_this_time
        for replica in replicas:
            await routes_at(replica, decision.to_percent)
        seen.append(decision.to_percent)
        if decision.to_percent == 100:
            break
    assert seen[-1] == 100
    actors = {d.actor for d in await store_of(replicas[0]).history()}
    assert actors  # who decided is recorded (either replica may)


async def test_a_seeded_shadow_mismatch_rolls_back(
    canary_settings: Callable[..., Settings], aiohttp_client: Any, clock: ManualClock
) -> None:
    plan = analysis(limits={"error_ratio_increase": 0.05, "shadow_mismatch_ratio": 0.05})
    client = await aiohttp_client(
        create_app(canary_settings(plan, shadow=True), registry=CollectorRegistry(), clock=clock)
    )
    await routes_at(client, 20)
    diffs = client.server.app[SHADOW_BOARD].diffs
    for index in range(30):
        await diffs.record(_comparison("mismatch" if index % 3 == 0 else "match", clock.now()))
    decision = await next_decision(client, clock)
    assert (decision.outcome, decision.reason) == ("rollback", "shadow_mismatch")
    assert decision.figures["shadow_mismatches"] == 10
    assert decision.figures["shadow_compared"] == 30
    await routes_at(client, 0)


def _comparison(result: str, at: datetime) -> Comparison:
    return Comparison("demo", "list_orders", "incentives", "shadow", result, at)
