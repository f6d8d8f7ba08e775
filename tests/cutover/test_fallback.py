"""Fallback: an unavailable upstream is served locally where the policy allows, else fails fast."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.observability.middleware import METRICS
from tests.cutover.test_locator import send

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
READS_FALL_BACK = {
    "apps": {
        "demo": {
            "target": "legacy",
            "operations": {
                "list_orders": {"on_unavailable": {"fallback": "local"}},
                "get_order": {"on_unavailable": {"fallback": "local"}},
            },
        }
    }
}


def sample(client: TestClient[Any, Any], name: str, **labels: str) -> float | None:
    value: float | None = client.server.app[METRICS].registry.get_sample_value(name, labels)
    return value


async def down_bridge(routed_bridge: Bridge, port: int, policy: dict[str, Any]) -> Any:
    return await routed_bridge(f"http://127.0.0.1:{port}", policy)


async def test_read_configured_fallback_local_is_served_locally(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    bridge = await down_bridge(routed_bridge, unused_tcp_port, READS_FALL_BACK)
    answer = await send(bridge, "GET", "users/demo-user-1/orders")
    assert answer == {"status": "ok", "orders": []}


async def test_fallback_is_counted(routed_bridge: Bridge, unused_tcp_port: int) -> None:
    bridge = await down_bridge(routed_bridge, unused_tcp_port, READS_FALL_BACK)
    await send(bridge, "GET", "users/demo-user-1/orders")
    counted = sample(
        bridge,
        "bridge_fallbacks_total",
        app="demo",
        operation="list_orders",
        from_target="legacy",
        to_target="local",
    )
    decided = sample(
        bridge,
        "bridge_routing_decisions_total",
        app="demo",
        operation="list_orders",
        target="local",
        reason="fallback",
    )
    assert (counted, decided) == (1, 1)


async def test_operation_configured_fail_returns_the_legacy_error(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    bridge = await down_bridge(routed_bridge, unused_tcp_port, READS_FALL_BACK)
    answer = await send(bridge, "POST", "users/demo-user-1/offers/1/orders", {"order": {}})
    assert answer["errors"]["code"] == "not_available"


async def test_write_falls_back_when_points_live_locally(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    policy = {
        "apps": {
            "demo": {
                "target": "legacy",
                "points_live_locally": True,
                "on_unavailable": {"fallback": "local"},
            }
        }
    }
    bridge = await down_bridge(routed_bridge, unused_tcp_port, policy)
    answer = await send(bridge, "POST", "users/demo-user-1/offers/1/orders", {"order": {}})
    assert answer["order"]["points"] == 100
