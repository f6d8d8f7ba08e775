"""The cutover with the Incentives target: fallback when it is down, locator, history on it.

A real Incentives sandbox on port 0 (tests/incentives/conftest.py) and a legacy stand-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bridge.runtime.admin import POLICY_SOURCE
from tests.cutover.conftest import ServerFactory, base_url, demo_apps, write_policy
from tests.cutover.test_backfill import CUSTOMERS, backfill, legacy_with_history, without_points
from tests.cutover.test_fallback import sample
from tests.cutover.test_locator import HOLD, send
from tests.incentives.conftest import (  # noqa: F401 - fixtures used by name below
    incentives_config,
    sandbox,
    sandbox_database,
    start_sandbox,
)

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
INCENTIVES_READS_FALL_BACK = {
    "apps": {
        "demo": {
            "target": "incentives",
            "operations": {
                "list_orders": {"on_unavailable": {"fallback": "local"}},
                "get_order": {"on_unavailable": {"fallback": "local"}},
            },
        }
    }
}


async def bridge_on(
    routed_bridge: Bridge, legacy_url: str | None, incentives_url: str, policy: dict[str, Any]
) -> TestClient[Any, Any]:
    apps = demo_apps(legacy_base_url=legacy_url, incentives=incentives_config(incentives_url))
    return await routed_bridge(legacy_url, policy, apps=apps)


async def test_incentives_down_read_falls_back_to_local_and_is_counted(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    down = f"http://127.0.0.1:{unused_tcp_port}"
    bridge = await bridge_on(routed_bridge, None, down, INCENTIVES_READS_FALL_BACK)
    answer = await send(bridge, "GET", "users/demo-user-1/orders")
    assert answer == {"status": "ok", "orders": []}
    counted = sample(
        bridge,
        "bridge_fallbacks_total",
        app="demo",
        operation="list_orders",
        from_target="incentives",
        to_target="local",
    )
    assert counted == 1


async def test_incentives_down_write_configured_fail_returns_the_legacy_error(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    down = f"http://127.0.0.1:{unused_tcp_port}"
    bridge = await bridge_on(routed_bridge, None, down, INCENTIVES_READS_FALL_BACK)
    async with bridge.post(
        "/priv/v1/apps/demo-api-key/users/demo-user-1/offers/1/orders",
        json={"order": {}},
        headers={"Authorization": "Basic ZGVtby1hcGkta2V5OmRlbW8tYXBpLXNlY3JldA=="},
    ) as answer:
        body = await answer.json()
    assert (answer.status, body["errors"]["code"]) == (503, "not_available")


async def test_incentives_order_stays_reachable_after_rollback_to_legacy(
    routed_bridge: Bridge,
    legacy_server: ServerFactory,
    sandbox: TestServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    legacy = await legacy_server()
    bridge = await bridge_on(
        routed_bridge,
        base_url(legacy),
        base_url(sandbox),
        {"apps": {"demo": {"target": "incentives"}}},
    )
    placed = (await send(bridge, "POST", "users/demo-user-1/offers/1/orders", HOLD))["order"]
    write_policy(tmp_path / "policy.yaml", {"apps": {"demo": {"target": "legacy"}}})
    assert bridge.server.app[POLICY_SOURCE].reload()
    fetched = await send(bridge, "GET", f"users/demo-user-1/orders/{placed['id']}")
    approved = await send(
        bridge, "POST", f"orders/{placed['id']}", {"order": {"status": "approved"}}
    )
    assert (fetched["order"]["id"], approved["order"]["status"]) == (placed["id"], "approved")


async def test_backfilled_history_lists_on_the_incentives_target(
    routed_bridge: Bridge,
    legacy_server: ServerFactory,
    aiohttp_client: Any,
    sandbox: TestServer,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    legacy_app, legacy = await legacy_with_history(legacy_server, aiohttp_client)
    bridge = await bridge_on(
        routed_bridge,
        base_url(legacy_app),
        base_url(sandbox),
        {"apps": {"demo": {"target": "incentives"}}},
    )
    await backfill(legacy_app, tmp_path, CUSTOMERS)
    listed = await send(bridge, "GET", "users/demo-user-1/orders")
    expected = await send(legacy, "GET", "users/demo-user-1/orders")
    assert [without_points(o) for o in listed["orders"]] == [
        without_points(o) for o in expected["orders"]
    ]
    fetched = await send(bridge, "GET", "users/demo-user-1/orders/2")
    assert without_points(fetched["order"]) == without_points(expected["orders"][-2])
