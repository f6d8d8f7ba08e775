"""Order locator end to end: a canary never makes an order unreachable.

A legacy stand-in holds orders placed before the canary; the bridge (ids above the floor)
then serves the canary customer locally. Legacy orders are still fetched and updated on
legacy, bridge orders on the bridge, whatever the policy says at the time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from bridge.observability.middleware import METRICS
from bridge.runtime.admin import POLICY_SOURCE
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import ServerFactory, base_url, write_policy

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
FLOOR = 1_000_000
LEGACY = {"apps": {"demo": {"target": "legacy"}}}
CANARY_ALL = {"apps": {"demo": {"target": "legacy", "canary": {"target": "local", "percent": 100}}}}
HOLD = {"order": {"quantity": 1, "status": "pending_approval"}}


async def send(
    client: TestClient[Any, Any], method: str, path: str, body: object = None
) -> dict[str, Any]:
    data = orjson.dumps(body) if body is not None else None
    async with client.request(method, f"{PREFIX}/{path}", data=data, headers=basic_auth()) as r:
        answer: dict[str, Any] = orjson.loads(await r.read())
        return answer


def switch(client: TestClient[Any, Any], tmp_path: Path, document: dict[str, Any]) -> None:
    write_policy(tmp_path / "policy.yaml", document)
    assert client.server.app[POLICY_SOURCE].reload()


async def place_held(bridge: TestClient[Any, Any]) -> dict[str, Any]:
    """Place an order held for review for demo-user-1; the order as answered."""
    answer = await send(bridge, "POST", "users/demo-user-1/offers/1/orders", HOLD)
    order: dict[str, Any] = answer["order"]
    return order


async def start(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any
) -> tuple[TestClient[Any, Any], TestClient[Any, Any]]:
    behind = await legacy_server()
    bridge = await routed_bridge(base_url(behind), LEGACY, order_id_floor=FLOOR)
    return bridge, await aiohttp_client(behind)


async def test_legacy_order_placed_before_the_canary_is_fetched_on_legacy(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    bridge, legacy = await start(legacy_server, routed_bridge, aiohttp_client)
    placed = await place_held(bridge)
    switch(bridge, tmp_path, CANARY_ALL)
    fetched = await send(bridge, "GET", f"users/demo-user-1/orders/{placed['id']}")
    direct = await send(legacy, "GET", f"users/demo-user-1/orders/{placed['id']}")
    assert fetched == direct
    assert fetched["order"]["id"] < FLOOR


async def test_legacy_order_placed_before_the_canary_is_updated_on_legacy(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    bridge, legacy = await start(legacy_server, routed_bridge, aiohttp_client)
    placed = await place_held(bridge)
    switch(bridge, tmp_path, CANARY_ALL)
    approve = {"order": {"status": "approved"}}
    updated = await send(bridge, "PUT", f"orders/{placed['id']}", approve)
    assert updated["order"]["status"] == "approved"
    direct = await send(legacy, "GET", f"users/demo-user-1/orders/{placed['id']}")
    assert direct["order"]["status"] == "approved"


async def test_canary_order_is_placed_on_the_bridge_above_the_floor(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    bridge, legacy = await start(legacy_server, routed_bridge, aiohttp_client)
    switch(bridge, tmp_path, CANARY_ALL)
    placed = await place_held(bridge)
    assert placed["id"] > FLOOR
    assert (await send(legacy, "GET", "users/demo-user-1/orders"))["orders"] == []


async def test_bridge_order_stays_reachable_after_rollback_to_legacy(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    bridge, _ = await start(legacy_server, routed_bridge, aiohttp_client)
    switch(bridge, tmp_path, CANARY_ALL)
    placed = await place_held(bridge)
    switch(bridge, tmp_path, LEGACY)
    fetched = await send(bridge, "GET", f"users/demo-user-1/orders/{placed['id']}")
    assert fetched["order"] == placed
    rejected = await send(
        bridge, "POST", f"orders/{placed['id']}", {"order": {"status": "rejected"}}
    )
    assert rejected["order"]["status"] == "rejected"


async def test_locator_decision_is_counted(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    bridge, _ = await start(legacy_server, routed_bridge, aiohttp_client)
    switch(bridge, tmp_path, CANARY_ALL)
    placed = await place_held(bridge)
    switch(bridge, tmp_path, LEGACY)
    await send(bridge, "GET", f"users/demo-user-1/orders/{placed['id']}")
    labels = {"app": "demo", "operation": "get_order", "target": "local", "reason": "locator"}
    registry = bridge.server.app[METRICS].registry
    assert registry.get_sample_value("bridge_routing_decisions_total", labels) == 1
