"""Durable fulfilment on the Incentives target: a manual_redeem that fails is retried.

A real sandbox on port 0 whose manual_redeem answers 503 a set number of times, a bridge whose
outbox sender only runs when the test drives it (`deliver_due`), and a clock the test moves
past the inline attempt's grace period and the backoff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry

from bridge.app import OUTBOX_SENDER, create_app
from bridge.runtime.health import DATABASE
from bridge.sandbox.errors import SandboxError, connect_error
from bridge.settings import Settings
from bridge.store.outbox import Outbox
from bridge.store.remote_orders import FULFILMENT_EMAIL
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth, load_demo
from tests.engines import sqlite_database
from tests.incentives.conftest import base_url, incentives_app
from tests.incentives.test_backend import order_headphones, review
from tests.incentives.test_lost_purchase import place, sandbox_call

REDEEM = "/manual_redeem"
GRACE_SECONDS = 11
"""Past the inline attempt's grace (one call timeout, 10 s in the demo block)."""
AFTER_ANY_BACKOFF_SECONDS = 3601


def failing(path: str, times: int) -> Middleware:
    """Answer 503 to the first `times` calls to `path` (the upstream is down for them)."""
    left = [times]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith(path) or left[0] == 0:
            return await handler(request)
        left[0] -= 1
        return web.json_response({"status": "error"}, status=503)

    return middleware


def refusing(path: str) -> Middleware:
    """Refuse every call to `path` with an Incentives error code (a permanent refusal)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith(path):
            return await handler(request)
        return connect_error(SandboxError("user_offer_not_found", "No such user offer."))

    return middleware


Bridge = TestClient[Any, Any]


@pytest.fixture
def start_bridge(
    aiohttp_client: Callable[..., Awaitable[Bridge]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    email_key: str,
) -> Callable[..., Awaitable[Bridge]]:
    """A bridge on the Incentives target whose outbox sender waits for the test."""

    async def start(server: TestServer, clock: ManualClock, **overrides: Any) -> Bridge:
        registry = overrides.pop("registry", None) or CollectorRegistry()
        url = await sqlite_database(tmp_path, migrated=True, name="bridge-fulfilment.db")
        await load_demo(url, email_key)
        settings = make_settings(
            database_url=url,
            apps=(incentives_app(base_url(server)),),
            outbox_poll_seconds=3600,
            **overrides,
        )
        return await aiohttp_client(create_app(settings, registry=registry, clock=clock))

    return start


async def redeemable(server: TestServer) -> list[bool]:
    wallet = await sandbox_call(
        server, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    return [entry["is_redeemable"] for entry in wallet["user_offers"]]


async def order_status(bridge: Bridge, order_id: int) -> str:
    response = await bridge.get(
        f"{PREFIX}/users/demo-user-1/orders/{order_id}", headers=basic_auth()
    )
    return str((await response.json())["order"]["status"])


async def test_an_order_whose_redeem_failed_is_answered_approved(
    start_sandbox: Callable[..., Awaitable[TestServer]], start_bridge: Callable[..., Any]
) -> None:
    server = await start_sandbox([failing(REDEEM, times=99)])
    bridge = await start_bridge(server, ManualClock())

    status, body = await place(bridge)

    assert (status, body["order"]["status"]) == (200, "approved")
    assert await redeemable(server) == [True]


async def test_a_redeem_failed_after_purchase_is_retried_until_it_works(
    start_sandbox: Callable[..., Awaitable[TestServer]], start_bridge: Callable[..., Any]
) -> None:
    server = await start_sandbox([failing(REDEEM, times=1)])
    clock = ManualClock()
    bridge = await start_bridge(server, clock)
    await place(bridge)
    clock.advance(seconds=GRACE_SECONDS)

    assert await bridge.app[OUTBOX_SENDER].deliver_due() == 1
    assert await redeemable(server) == [False]


async def test_a_redeem_failed_on_approve_is_retried_and_the_order_stays_approved(
    start_sandbox: Callable[..., Awaitable[TestServer]], start_bridge: Callable[..., Any]
) -> None:
    server = await start_sandbox([failing(REDEEM, times=2)])
    clock = ManualClock()
    bridge = await start_bridge(server, clock)
    order_id = await order_headphones(bridge)
    assert (await review(bridge, order_id, "approved"))["order"]["status"] == "approved"
    clock.advance(seconds=GRACE_SECONDS)
    await bridge.app[OUTBOX_SENDER].deliver_due()  # fails again: backoff
    clock.advance(seconds=AFTER_ANY_BACKOFF_SECONDS)

    await bridge.app[OUTBOX_SENDER].deliver_due()

    assert (await order_status(bridge, order_id), await redeemable(server)) == (
        "approved",
        [False],
    )


async def test_a_redeem_that_worked_at_once_leaves_nothing_to_retry(
    sandbox: TestServer, start_bridge: Callable[..., Any]
) -> None:
    clock = ManualClock()
    bridge = await start_bridge(sandbox, clock)
    await place(bridge)
    clock.advance(seconds=GRACE_SECONDS)

    assert await bridge.app[OUTBOX_SENDER].deliver_due() == 0


async def test_a_redeem_failing_past_max_attempts_is_a_redemption_error(
    start_sandbox: Callable[..., Awaitable[TestServer]], start_bridge: Callable[..., Any]
) -> None:
    server = await start_sandbox([failing(REDEEM, times=99)])
    clock = ManualClock()
    registry = CollectorRegistry()
    bridge = await start_bridge(server, clock, outbox_max_attempts=2, registry=registry)
    _, body = await place(bridge)
    for _ in range(2):
        clock.advance(seconds=AFTER_ANY_BACKOFF_SECONDS)
        await bridge.app[OUTBOX_SENDER].deliver_due()

    assert await order_status(bridge, body["order"]["id"]) == "redemption_error"
    assert registry.get_sample_value("bridge_redemptions_total", {"result": "failed"}) == 1


async def test_a_redeem_refused_upstream_is_a_redemption_error_at_once(
    start_sandbox: Callable[..., Awaitable[TestServer]], start_bridge: Callable[..., Any]
) -> None:
    server = await start_sandbox([refusing(REDEEM)])
    clock = ManualClock()
    bridge = await start_bridge(server, clock)
    _, body = await place(bridge)
    clock.advance(seconds=GRACE_SECONDS)

    await bridge.app[OUTBOX_SENDER].deliver_due()

    assert await order_status(bridge, body["order"]["id"]) == "redemption_error"


async def test_a_sender_without_smtp_leaves_the_emails_queued(
    sandbox: TestServer, start_bridge: Callable[..., Any]
) -> None:
    clock = ManualClock()
    bridge = await start_bridge(sandbox, clock)
    await place(bridge)
    clock.advance(seconds=AFTER_ANY_BACKOFF_SECONDS)

    await bridge.app[OUTBOX_SENDER].deliver_due()

    assert await Outbox(bridge.app[DATABASE]).depth([FULFILMENT_EMAIL]) == 1
