"""A purchase whose answer is lost: found in the wallet (ok), or answered not_available and
undone; never sent again but by a retry of its Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bridge.app import OUTBOX_SENDER
from bridge.orders.outbox_sender import OutboxSender
from bridge.sandbox import ids
from bridge.sandbox.config import DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.conftest import base_url
from tests.reliability.conftest import sample

PURCHASE = "/purchase_offer"
WALLET = "/get_user_offers"
NO_POLLING = {"outbox_poll_seconds": 3600}
"""The sender's own loop stays idle: tests run due jobs themselves, at a clock they set."""


def drop_connection(path: str, *, after_commit: bool, times: int = 1) -> Middleware:
    """Close the connection of the first `times` calls to `path`, before or after the handler."""
    left = [times]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith(path) or left[0] == 0:
            return await handler(request)
        left[0] -= 1
        response = await handler(request) if after_commit else web.Response()
        assert request.transport is not None
        request.transport.close()
        return response

    return middleware


async def sandbox_call(server: TestServer, path: str, body: dict[str, Any]) -> Any:
    """Ask the sandbox directly, as an Incentives client would."""
    auth = {"Authorization": aiohttp.encode_basic_auth(DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET)}
    body = {"retailer_id": ids.retailer_id("demo"), **body}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url(server) + path, json=body, headers=auth) as response,
    ):
        return (await response.json())["payload"]


async def wallet_and_points(server: TestServer) -> tuple[int, int]:
    wallet = await sandbox_call(
        server, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    return wallet["total_records"], wallet["available_points"]


async def place(bridge: TestClient[Any, Any], key: str | None = None) -> tuple[int, Any]:
    headers = {**basic_auth(), **({"Idempotency-Key": key} if key else {})}
    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=headers
    )
    return response.status, await response.json()


async def run_due_jobs(bridge: TestClient[Any, Any], clock: ManualClock, **later: float) -> int:
    """Move the clock on (`later`: timedelta keywords), then run every outbox job now due."""
    clock.advance(**later)
    sender: OutboxSender = bridge.app[OUTBOX_SENDER]
    return await sender.deliver_due()


async def list_orders(bridge: TestClient[Any, Any]) -> list[Any]:
    listed = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert listed.status == 200
    orders: list[Any] = (await listed.json())["orders"]
    return orders


def purchase_and_wallet_lost() -> list[Middleware]:
    """The first purchase's answer is lost after commit; the next three wallet reads fail."""
    return [
        drop_connection(PURCHASE, after_commit=True),
        drop_connection(WALLET, after_commit=False, times=3),
    ]


async def unknown_order(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
    key: str | None = None,
) -> tuple[TestServer, TestClient[Any, Any], ManualClock]:
    """A bridge just after a create whose purchase landed, its answer lost, the wallet
    unreadable: answered not_available."""
    server = await start_sandbox(purchase_and_wallet_lost())
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock, settings_overrides=NO_POLLING)
    status, _ = await place(bridge, key)
    assert status == 503
    return server, bridge, clock


async def test_answer_lost_after_commit_is_found_in_the_wallet_one_order_one_debit(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox([drop_connection(PURCHASE, after_commit=True)])
    bridge = await start_incentives_bridge(server)

    status, body = await place(bridge)

    assert (status, body["status"], body["order"]["points"]) == (200, "ok", 100)
    assert await wallet_and_points(server) == (1, 9900)


async def test_a_request_lost_before_commit_is_not_sent_again(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox([drop_connection(PURCHASE, after_commit=False)])
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock, settings_overrides=NO_POLLING)

    status, body = await place(bridge)
    await run_due_jobs(bridge, clock, minutes=5)

    assert (status, body["errors"]["code"]) == (503, "not_available")
    assert await wallet_and_points(server) == (0, 10000)
    assert await list_orders(bridge) == []


async def test_a_purchase_that_landed_after_a_503_is_undone(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server, bridge, clock = await unknown_order(start_sandbox, start_incentives_bridge)
    assert await wallet_and_points(server) == (1, 9900)
    assert await list_orders(bridge) == []

    assert await run_due_jobs(bridge, clock, minutes=5) == 1

    assert await wallet_and_points(server) == (0, 10000)
    assert await list_orders(bridge) == []


async def test_the_undo_waits_for_the_in_flight_window(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server, bridge, clock = await unknown_order(start_sandbox, start_incentives_bridge)

    assert await run_due_jobs(bridge, clock, seconds=0.5) == 0

    assert await wallet_and_points(server) == (1, 9900)


async def test_an_order_settled_by_a_keyed_retry_is_fulfilled(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server, bridge, clock = await unknown_order(start_sandbox, start_incentives_bridge, "k-1")

    status, body = await place(bridge, "k-1")
    await run_due_jobs(bridge, clock, days=2)

    assert (status, body["order"]["status"]) == (200, "approved")
    wallet = await sandbox_call(
        server, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    assert [entry["is_redeemable"] for entry in wallet["user_offers"]] == [False]
    assert await wallet_and_points(server) == (1, 9900)


async def test_a_create_retried_with_an_idempotency_key_places_one_order(
    sandbox: TestServer,
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    bridge = await start_incentives_bridge(sandbox)
    headers = {**basic_auth(), "Idempotency-Key": "retry-1"}
    path = f"{PREFIX}/users/demo-user-1/offers/1/orders"

    first = await (await bridge.post(path, json={"order": {}}, headers=headers)).json()
    again = await (await bridge.post(path, json={"order": {}}, headers=headers)).json()

    assert again == first
    assert await wallet_and_points(sandbox) == (1, 9900)


async def test_the_undo_is_counted_and_logged(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox(purchase_and_wallet_lost())
    clock, registry = ManualClock(), CollectorRegistry()
    bridge = await start_incentives_bridge(
        server, registry=registry, clock=clock, settings_overrides=NO_POLLING
    )
    await place(bridge)

    with capture_logs() as logs:
        await run_due_jobs(bridge, clock, minutes=5)

    assert sample(registry, "bridge_purchase_settlements_total", outcome="undo_queued") == 1
    assert sample(registry, "bridge_compensations_total", kind="undo_purchase") == 1
    assert sample(registry, "bridge_compensations_total", result="undone") == 1
    (done,) = [entry for entry in logs if entry["event"] == "compensation_done"]
    assert (done["result"], done["points"]) == ("undone", 100)
