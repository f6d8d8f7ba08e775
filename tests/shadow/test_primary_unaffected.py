"""Scientist's rule: the integrator gets the primary's answer, unchanged and undelayed."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from tests.conftest import PREFIX, basic_auth
from tests.shadow.conftest import (
    BridgeFactory,
    bridge_db,
    gated_app,
    metric,
    settle,
    shadow_policy,
    slow_app,
    url_of,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
READS_SHADOWED = {"list_orders": {}, "get_order": {}}
USER = f"{PREFIX}/users/demo-user-1"


def reads_shadowed_to_legacy() -> dict[str, Any]:
    """Target local; list and get shadowed to legacy (writes may not shadow there)."""
    shadow = {"shadow": {"target": "legacy"}}
    return {
        "apps": {"demo": {"target": "local", "operations": dict.fromkeys(READS_SHADOWED, shadow)}}
    }


async def scenario(client: TestClient[Any, Any]) -> list[tuple[int, str, bytes]]:
    """Writes, reads and error cases; every answer as (status, content type, body bytes)."""
    auth = basic_auth()
    order = {"order": {"quantity": 1, "email": "jane@example.org", "ip": "198.51.100.7"}}
    calls: list[Awaitable[ClientResponse]] = [
        client.post(f"{USER}/offers/1/orders", json=order, headers=auth),
        client.post(f"{USER}/offers/4/orders", json=order, headers=auth),
        client.get(f"{USER}/orders", headers=auth),
        client.get(f"{USER}/orders/1", headers=auth),
        client.get(f"{USER}/orders/999", headers=auth),
        client.get(f"{USER}/orders?limit=abc", headers=auth),
        client.put(f"{PREFIX}/orders/1", json={"order": {"status": "approved"}}, headers=auth),
    ]
    answers = []
    for call in calls:
        response = await call
        answers.append((response.status, response.content_type, await response.read()))
    return answers


async def test_answers_are_byte_identical_with_shadowing_on_and_off(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    seen: list[str] = []
    legacy = await aiohttp_server(slow_app(0.0, seen))
    shadowed = await shadow_bridge(reads_shadowed_to_legacy(), legacy_url=url_of(legacy))
    unshadowed = {"apps": {"demo": {"target": "local"}}}
    plain = await shadow_bridge(unshadowed, legacy_url=url_of(legacy), home="b")
    with_shadow = await scenario(shadowed)
    without = await scenario(plain)
    await settle(bridge_db(tmp_path), 2)
    assert with_shadow == without


async def test_a_slow_shadow_target_leaves_the_primary_latency_unchanged(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory
) -> None:
    seen: list[str] = []
    legacy = await aiohttp_server(slow_app(0.5, seen))
    shadowed = await shadow_bridge(reads_shadowed_to_legacy(), legacy_url=url_of(legacy))
    plain = await shadow_bridge(None, home="b")
    on: list[float] = []
    off: list[float] = []
    for _ in range(15):
        for client, sink in ((shadowed, on), (plain, off)):
            started = time.perf_counter()
            response = await client.get(f"{USER}/orders", headers=basic_auth())
            await response.read()
            sink.append(time.perf_counter() - started)
    assert seen  # the slow target was really called
    assert statistics.median(on) < 5 * statistics.median(off)


async def test_a_failing_shadow_target_is_recorded_and_never_reaches_the_client(
    shadow_bridge: BridgeFactory, tmp_path: Path, registry: CollectorRegistry
) -> None:
    client = await shadow_bridge(reads_shadowed_to_legacy(), legacy_url="http://127.0.0.1:9")
    response = await client.get(f"{USER}/orders", headers=basic_auth())
    assert response.status == 200
    assert (await response.json()) == {"status": "ok", "orders": []}
    await settle(bridge_db(tmp_path), 1)
    assert metric(registry, "error", "list_orders", "legacy") == 1


async def test_a_full_queue_drops_the_shadow_and_counts_it(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, registry: CollectorRegistry
) -> None:
    gate, seen = asyncio.Event(), []
    legacy = await aiohttp_server(gated_app(gate, seen))
    client = await shadow_bridge(
        reads_shadowed_to_legacy(),
        legacy_url=url_of(legacy),
        shadow={"queue_size": 1, "workers": 1},
    )
    for _ in range(5):
        response = await client.get(f"{USER}/orders", headers=basic_auth())
        assert response.status == 200
    dropped = metric(registry, "dropped", "list_orders", "legacy")
    gate.set()
    assert dropped >= 3  # one in flight, one queued, the rest dropped


async def test_shutdown_drops_unfinished_shadows_and_counts_them(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, registry: CollectorRegistry
) -> None:
    gate, seen = asyncio.Event(), []
    legacy = await aiohttp_server(gated_app(gate, seen))
    client = await shadow_bridge(
        reads_shadowed_to_legacy(),
        legacy_url=url_of(legacy),
        shadow={"workers": 1, "drain_seconds": 0.05, "timeout_seconds": 0.2},
    )
    for _ in range(3):
        await client.get(f"{USER}/orders", headers=basic_auth())
    await client.close()  # the running call times out, the two queued ones are dropped
    gate.set()
    assert metric(registry, "dropped", "list_orders", "legacy") == 2
    assert metric(registry, "error", "list_orders", "legacy") == 1


async def test_sampling_follows_the_policy_rate(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, registry: CollectorRegistry
) -> None:
    seen: list[str] = []
    legacy = await aiohttp_server(slow_app(0.0, seen))
    policy = shadow_policy(shadow="legacy", sample_rate=0.0)
    policy["apps"]["demo"]["operations"] = {"create_order": {"shadow": None}}
    policy["apps"]["demo"]["operations"]["update_order_status"] = {"shadow": None}
    client = await shadow_bridge(policy, legacy_url=url_of(legacy))
    for _ in range(5):
        await client.get(f"{USER}/orders", headers=basic_auth())
    assert seen == []
