"""A purchase whose answer is lost never spends twice and is never guessed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler, Middleware

from bridge.sandbox import ids
from bridge.sandbox.config import DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.conftest import base_url

PURCHASE = "/purchase_offer"
WALLET = "/get_user_offers"


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


async def place(bridge: TestClient[Any, Any]) -> tuple[int, Any]:
    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
    )
    return response.status, await response.json()


def purchase_and_wallet_lost() -> list[Middleware]:
    """The first purchase's answer is lost after commit; the next three wallet reads fail."""
    return [
        drop_connection(PURCHASE, after_commit=True),
        drop_connection(WALLET, after_commit=False, times=3),
    ]


async def unknown_order(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> tuple[TestServer, TestClient[Any, Any]]:
    """A bridge five minutes after a create whose purchase was lost and could not be settled."""
    server = await start_sandbox(purchase_and_wallet_lost())
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock)
    await place(bridge)
    clock.advance(minutes=5)
    return server, bridge


async def test_answer_lost_after_commit_gives_one_order_and_one_debit(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox([drop_connection(PURCHASE, after_commit=True)])
    bridge = await start_incentives_bridge(server)

    status, body = await place(bridge)

    assert (status, body["status"], body["order"]["points"]) == (200, "ok", 100)
    assert await wallet_and_points(server) == (1, 9900)


async def test_request_lost_before_commit_is_sent_again_once(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox([drop_connection(PURCHASE, after_commit=False)])
    bridge = await start_incentives_bridge(server)

    status, body = await place(bridge)

    assert (status, body["status"]) == (200, "ok")
    assert await wallet_and_points(server) == (1, 9900)


async def test_unreachable_wallet_leaves_the_order_unknown_not_guessed(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server = await start_sandbox(purchase_and_wallet_lost())
    bridge = await start_incentives_bridge(server, clock=ManualClock())

    status, body = await place(bridge)

    assert (status, body["errors"]["code"]) == (503, "not_available")
    assert await wallet_and_points(server) == (1, 9900)


async def test_next_call_settles_an_unknown_order_from_the_wallet(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server, bridge = await unknown_order(start_sandbox, start_incentives_bridge)

    listed = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    orders = (await listed.json())["orders"]
    assert [(order["points"], order["user"]["available_points"]) for order in orders] == [
        (100, 9900)
    ]
    assert await wallet_and_points(server) == (1, 9900)


async def test_an_order_settled_later_is_fulfilled_when_approved(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    server, bridge = await unknown_order(start_sandbox, start_incentives_bridge)

    await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    wallet = await sandbox_call(
        server, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    assert [entry["is_redeemable"] for entry in wallet["user_offers"]] == [False]


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
