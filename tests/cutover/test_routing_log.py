"""Every routing decision is on the call's one log line: target, reason, canary, fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from tests.cutover.test_fallback import READS_FALL_BACK
from tests.cutover.test_locator import send

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
CANARY_ALL = {"apps": {"demo": {"target": "legacy", "canary": {"target": "local", "percent": 100}}}}


def completed(logs: list[dict[str, Any]]) -> dict[str, Any]:
    (line,) = [event for event in logs if event["event"] == "request_completed"]
    return line


async def test_canary_call_logs_target_and_reason(routed_bridge: Bridge) -> None:
    bridge = await routed_bridge("http://legacy.invalid", CANARY_ALL)
    with capture_logs() as logs:
        await send(bridge, "GET", "users/demo-user-1/orders")
    line = completed(logs)
    assert (line["target"], line["route_reason"], line["canary"]) == ("local", "canary", True)


async def test_fallback_call_logs_where_it_fell_from(
    routed_bridge: Bridge, unused_tcp_port: int
) -> None:
    bridge = await routed_bridge(f"http://127.0.0.1:{unused_tcp_port}", READS_FALL_BACK)
    with capture_logs() as logs:
        await send(bridge, "GET", "users/demo-user-1/orders")
    line = completed(logs)
    assert (line["target"], line["route_reason"], line["fallback_from"]) == (
        "local",
        "fallback",
        "legacy",
    )
