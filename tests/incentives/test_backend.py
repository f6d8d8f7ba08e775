"""The Incentives target end to end, one behaviour each: review calls, caches, failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler, Middleware

from tests.conftest import PREFIX, basic_auth
from tests.factories import us_address
from tests.incentives.test_lost_purchase import sandbox_call, wallet_and_points

Start = Callable[..., Awaitable[Any]]


def counting(calls: Counter[str]) -> Middleware:
    """Count the sandbox's requests by path (what the bridge really asked upstream)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls[request.path.rsplit("/", 1)[-1]] += 1
        return await handler(request)

    return middleware


async def order_headphones(bridge: TestClient[Any, Any]) -> int:
    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/2/orders",
        json={"order": {"shipping_address": us_address()}},
        headers=basic_auth(),
    )
    body = await response.json()
    assert body["order"]["status"] == "pending_approval"
    return int(body["order"]["id"])


async def review(bridge: TestClient[Any, Any], order_id: int, status: str) -> dict[str, Any]:
    response = await bridge.put(
        f"{PREFIX}/orders/{order_id}", json={"order": {"status": status}}, headers=basic_auth()
    )
    body: dict[str, Any] = await response.json()
    return body


async def test_approve_redeems_the_reward_upstream(
    sandbox: TestServer, start_incentives_bridge: Start
) -> None:
    bridge = await start_incentives_bridge(sandbox)
    order_id = await order_headphones(bridge)

    await review(bridge, order_id, "approved")

    wallet = await sandbox_call(
        sandbox, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    assert [entry["is_redeemable"] for entry in wallet["user_offers"]] == [False]


async def test_reject_revokes_and_refunds_upstream(
    sandbox: TestServer, start_incentives_bridge: Start
) -> None:
    bridge = await start_incentives_bridge(sandbox)
    order_id = await order_headphones(bridge)

    body = await review(bridge, order_id, "rejected")

    assert (body["order"]["status"], body["order"]["user"]["available_points"]) == (
        "rejected",
        10000,
    )
    assert await wallet_and_points(sandbox) == (0, 10000)


async def test_a_repeated_reject_refunds_once(
    sandbox: TestServer, start_incentives_bridge: Start
) -> None:
    bridge = await start_incentives_bridge(sandbox)
    order_id = await order_headphones(bridge)
    await review(bridge, order_id, "rejected")

    again = await review(bridge, order_id, "rejected")

    assert again["errors"]["code"] == "invalid_order_status"
    assert await wallet_and_points(sandbox) == (0, 10000)


async def test_customer_lookups_are_cached(
    start_sandbox: Start, start_incentives_bridge: Start
) -> None:
    calls: Counter[str] = Counter()
    server = await start_sandbox([counting(calls)])
    bridge = await start_incentives_bridge(server)

    for _ in range(3):
        await bridge.get(f"{PREFIX}/external/users/ext-demo-1/orders", headers=basic_auth())

    assert calls["ext-demo-1"] == 1


async def test_the_catalog_is_cached(start_sandbox: Start, start_incentives_bridge: Start) -> None:
    calls: Counter[str] = Counter()
    server = await start_sandbox([counting(calls)])
    bridge = await start_incentives_bridge(server)

    for _ in range(3):
        await bridge.post(
            f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
        )

    assert (calls["get_reward_store_offers"], calls["purchase_offer"]) == (1, 3)


async def test_an_unreachable_upstream_is_not_available(
    start_sandbox: Start, start_incentives_bridge: Start
) -> None:
    server = await start_sandbox()
    bridge = await start_incentives_bridge(server, base_url="http://127.0.0.1:9")

    response = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    body = await response.json()
    assert (response.status, body["errors"]["code"]) == (503, "not_available")


async def test_an_open_breaker_fails_fast_without_calling_upstream(
    start_sandbox: Start, start_incentives_bridge: Start
) -> None:
    calls: Counter[str] = Counter()

    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls["all"] += 1
        return web.Response(status=500, text="down")

    server = await start_sandbox([broken])
    bridge = await start_incentives_bridge(
        server, breaker={"failure_threshold": 3, "reset_seconds": 60}
    )
    for _ in range(2):
        await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    response = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    assert (response.status, calls["all"]) == (503, 3)
