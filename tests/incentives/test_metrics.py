"""Upstream calls are counted, the breaker's state published, untranslatable answers counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry

from tests.conftest import PREFIX, basic_auth

Start = Callable[..., Awaitable[Any]]


async def test_a_purchase_is_counted_by_call_and_outcome(
    sandbox: TestServer, start_incentives_bridge: Start
) -> None:
    registry = CollectorRegistry()
    bridge = await start_incentives_bridge(sandbox, registry)

    await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
    )

    labels = {"upstream": "incentives", "call": "purchase_offer", "outcome": "ok"}
    assert registry.get_sample_value("bridge_upstream_requests_total", labels) == 1


async def test_an_open_breaker_is_published(
    start_sandbox: Start, start_incentives_bridge: Start
) -> None:
    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(status=500, text="down")

    registry = CollectorRegistry()
    server = await start_sandbox([broken])
    bridge = await start_incentives_bridge(
        server, registry, breaker={"failure_threshold": 1, "reset_seconds": 60}
    )

    await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())

    state = registry.get_sample_value("bridge_upstream_circuit_state", {"upstream": "core"})
    assert state == 2


def garbling(suffix: str, payload: dict[str, Any]) -> Middleware:
    """Answer calls to `suffix` with an ok envelope around a payload the mappings cannot read."""

    @web.middleware
    async def garbled(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith(suffix):
            return await handler(request)
        body = {"status": "ok", "payload": payload}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    return garbled


UNREADABLE_CATALOGS = {
    "a wrong type": {"total_rows": "many"},
    "a date that is no date": {
        "total_rows": 1,
        "reward_store_offers": [
            {
                "id": "rso-1",
                "reward_store_id": "rs-1",
                "price": 100,
                "start_date": "garbage",
                "offer_details": {"title": "A reward"},
            }
        ],
    },
}


@pytest.mark.parametrize("payload", UNREADABLE_CATALOGS.values(), ids=UNREADABLE_CATALOGS.keys())
async def test_an_untranslatable_answer_is_counted_and_not_available(
    start_sandbox: Start, start_incentives_bridge: Start, payload: dict[str, Any]
) -> None:
    registry = CollectorRegistry()
    server = await start_sandbox([garbling("/get_reward_store_offers", payload)])
    bridge = await start_incentives_bridge(server, registry)

    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
    )

    labels = {"call": "reward_store_offers", "direction": "response"}
    assert response.status == 503
    assert registry.get_sample_value("bridge_translation_failures_total", labels) == 1


async def test_a_placed_order_shows_the_purchase_balance_when_balances_fail(
    start_sandbox: Start, start_incentives_bridge: Start
) -> None:
    server = await start_sandbox([garbling("/all_balances", {"details": "not a list"})])
    bridge = await start_incentives_bridge(server)

    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
    )

    body = await response.json()
    assert (response.status, body["order"]["user"]["available_points"]) == (200, 9900)
