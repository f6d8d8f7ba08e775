"""The demo walk of issue 14: the sandbox stops, a create fails, the sandbox comes back, the
customer lists and retries. The client's answers and the upstream wallet agree at every step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.config import SandboxConfig
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.test_lost_purchase import (
    NO_POLLING,
    place,
    run_due_jobs,
    wallet_and_points,
)

Bridge = TestClient[Any, Any]


async def orders(bridge: Bridge) -> list[tuple[int, str, int | None]]:
    listed = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert listed.status == 200
    return [
        (order["id"], order["status"], order["user"].get("available_points"))
        for order in (await listed.json())["orders"]
    ]


async def test_sandbox_stopped_create_restarted_list_retry(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    sandbox_database: str,
    email_key: str,
    start_incentives_bridge: Callable[..., Awaitable[Bridge]],
) -> None:
    def sandbox_app() -> Any:
        return create_sandbox_app(SandboxConfig.for_apps(["demo"]), sandbox_database, [email_key])

    sandbox = await aiohttp_server(sandbox_app())
    clock = ManualClock()
    bridge = await start_incentives_bridge(sandbox, clock=clock, settings_overrides=NO_POLLING)
    status, first = await place(bridge)
    assert (status, first["order"]["user"]["available_points"]) == (200, 9900)

    port = sandbox.port
    await sandbox.close()  # the sandbox stops
    status, failed = await place(bridge)
    assert (status, failed["errors"]["code"]) == (503, "not_available")
    down = await orders(bridge)  # the failed create is no order; no balance can be read now
    assert down == [(first["order"]["id"], "approved", None)]

    sandbox = await aiohttp_server(sandbox_app(), port=port)  # and comes back
    assert await orders(bridge) == [(first["order"]["id"], "approved", 9900)]
    assert await wallet_and_points(sandbox) == (1, 9900)

    status, retried = await place(bridge)
    await run_due_jobs(bridge, clock, minutes=5)

    assert (status, retried["order"]["user"]["available_points"]) == (200, 9800)
    assert [order_id for order_id, _, _ in await orders(bridge)] == [
        retried["order"]["id"],
        first["order"]["id"],
    ]
    assert await wallet_and_points(sandbox) == (2, 9800)
