"""The canonical line for the cutover outcomes: upstream failure, fallback, shadowed call.

Real legacy stand-ins and bridges from the cutover and shadow fixtures; an unreachable
upstream is a free port nobody listens on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import structlog
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import legacy_server, routed_bridge
from tests.shadow.conftest import bridge_db, settle, shadow_bridge, shadow_policy, url_of

__all__ = ["legacy_server", "routed_bridge", "shadow_bridge"]

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
LIST = f"{PREFIX}/users/demo-user-1/orders"
READS_FALL_BACK = {
    "apps": {
        "demo": {
            "target": "legacy",
            "operations": {"list_orders": {"on_unavailable": {"fallback": "local"}}},
        }
    }
}


async def one_line(
    client: TestClient[Any, Any], path: str, **expected: Any
) -> MutableMapping[str, Any]:
    """The bridge's line for one call (the legacy stand-in, in-process, logs its own too)."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await client.get(path, headers=basic_auth())
    (line,) = [
        entry
        for entry in logs
        if entry["event"] == "request_completed"
        and all(entry.get(key) == value for key, value in expected.items())
    ]
    return line


async def test_upstream_failure_line(routed_bridge: Bridge, unused_tcp_port: int) -> None:
    policy = {"apps": {"demo": {"target": "legacy"}}}
    bridge = await routed_bridge(f"http://127.0.0.1:{unused_tcp_port}", policy)
    line = await one_line(bridge, LIST)
    assert line["target"] == "legacy"
    assert line["route_reason"] == "policy"
    assert (line["outcome"], line["legacy_code"], line["status"]) == (
        "error",
        "not_available",
        503,
    )
    assert line["upstream_calls"] == 1
    assert "upstream_status" not in line
    assert line["log_level"] == "warning"


async def test_upstream_answer_line(routed_bridge: Bridge, legacy_server: Any) -> None:
    legacy: TestServer = await legacy_server()
    bridge = await routed_bridge(url_of(legacy), {"apps": {"demo": {"target": "legacy"}}})
    line = await one_line(bridge, LIST, target="legacy")
    assert (line["outcome"], line["upstream_status"], line["upstream_calls"]) == ("ok", 200, 1)
    assert line["upstream_ms"] >= 0


async def test_fallback_line(routed_bridge: Bridge, unused_tcp_port: int) -> None:
    bridge = await routed_bridge(f"http://127.0.0.1:{unused_tcp_port}", READS_FALL_BACK)
    line = await one_line(bridge, LIST)
    assert line["target"] == "local"
    assert line["route_reason"] == "fallback"
    assert line["fallback_from"] == "legacy"
    assert line["outcome"] == "ok"


async def test_shadowed_call_line(shadow_bridge: Bridge, legacy_server: Any) -> None:
    legacy: TestServer = await legacy_server()
    writes_unshadowed = {op: {"shadow": None} for op in ("create_order", "update_order_status")}
    policy = shadow_policy(operations=writes_unshadowed)
    bridge = await shadow_bridge(policy, legacy_url=url_of(legacy))
    line = await one_line(bridge, LIST, shadow_target="legacy")
    assert (line["target"], line["outcome"], line["route_reason"]) == ("local", "ok", "policy")


async def test_shadow_mismatch_line(
    shadow_bridge: Bridge, legacy_server: Any, tmp_path: Path
) -> None:
    """An order placed on both sides (legacy primary, local shadow, ids paired) whose offer
    legacy names differently: the list of it is a mismatch at orders[].name."""
    legacy: TestServer = await legacy_server()
    with sqlite3.connect(tmp_path / "legacy-1.db") as renamed:
        renamed.execute("UPDATE offers SET name = 'Renamed on legacy' WHERE id = 1")
    policy = {"apps": {"demo": {"target": "legacy", "shadow": {"target": "local"}}}}
    bridge = await shadow_bridge(policy, legacy_url=url_of(legacy))
    await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        json={"order": {"quantity": 1}},
        headers=basic_auth(),
    )
    await settle(bridge_db(tmp_path), 1)
    with capture_logs() as logs:
        await bridge.get(LIST, headers=basic_auth())
        await settle(bridge_db(tmp_path), 2)
    (line,) = [entry for entry in logs if entry["event"] == "shadow_compared"]
    assert (line["app"], line["operation"], line["result"]) == ("demo", "list_orders", "mismatch")
    assert "orders[].name" in line["differing_fields"]
    assert (line["target"], line["shadow_target"]) == ("legacy", "local")
    assert line["differing_fields"]
    assert all("demo-user-1" not in field for field in line["differing_fields"])
