"""A create retried with its Idempotency-Key after a 503 gets the order once it is settled.

The first answer was `not_available` (the purchase's answer was lost and the wallet could not
be read), so it was not stored; the key's claim names the order left in the unknown state.
The retry re-resolves that order from the ledger through the reconciler rather than answering
"still in progress" until the key expires, and never guesses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.test_lost_purchase import (
    PURCHASE,
    WALLET,
    drop_connection,
    wallet_and_points,
)

PATH = f"{PREFIX}/users/demo-user-1/offers/1/orders"
FAST_RECOVERY = {"idempotency_wait_seconds": 3600}
"""The first request answered 503 and let go of its key: a retry must not wait for it."""
NOT_AN_HOUR = 60
"""A retry that waited for the key's holder would take the hour above; this bounds it."""


async def post_with_key(bridge: TestClient[Any, Any]) -> tuple[int, Any]:
    headers = {**basic_auth(), "Idempotency-Key": "lost-1"}
    async with asyncio.timeout(NOT_AN_HOUR):
        response = await bridge.post(PATH, json={"order": {}}, headers=headers)
        return response.status, await response.json()


async def test_a_retry_after_a_503_gets_the_settled_order(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    middlewares = [
        drop_connection(PURCHASE, after_commit=True),
        drop_connection(WALLET, after_commit=False, times=3),
    ]
    server = await start_sandbox(middlewares)
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock, settings_overrides=FAST_RECOVERY)
    assert (await post_with_key(bridge))[0] == 503
    clock.advance(minutes=5)

    status, body = await post_with_key(bridge)

    assert (status, body["order"]["status"], body["order"]["points"]) == (200, "approved", 100)
    assert await wallet_and_points(server) == (1, 9900)


async def test_a_retry_while_the_upstream_is_still_down_is_not_guessed(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    middlewares = [
        drop_connection(PURCHASE, after_commit=True),
        drop_connection(WALLET, after_commit=False, times=6),
    ]
    server = await start_sandbox(middlewares)
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock, settings_overrides=FAST_RECOVERY)
    await post_with_key(bridge)
    clock.advance(minutes=5)

    status, body = await post_with_key(bridge)

    assert (status, body["errors"]["code"]) == (503, "not_available")


async def test_the_settled_answer_is_kept_for_the_key(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    middlewares = [
        drop_connection(PURCHASE, after_commit=True),
        drop_connection(WALLET, after_commit=False, times=3),
    ]
    server = await start_sandbox(middlewares)
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock, settings_overrides=FAST_RECOVERY)
    await post_with_key(bridge)
    clock.advance(minutes=5)
    _, settled = await post_with_key(bridge)

    assert (await post_with_key(bridge))[1] == settled
