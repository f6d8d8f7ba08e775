"""How many times a call reads the ledger, on the Incentives target (and the local one).

A get reads its order once: the cutover's locator reads it, and the order service reuses that
row when its outcome is settled. A list reads one page. A customer with no purchase left
unknown costs no ledger lookup (bridge/store/unsettled.py). A get of an order whose purchase
is still unknown settles it first and answers what the settling left.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.health import ENGINE
from bridge.store import remote_orders, tables, units
from bridge.store.unsettled import UnsettledIndex
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.test_lost_purchase import (
    PURCHASE,
    WALLET,
    drop_connection,
    place,
    unknown_order,
    wallet_and_points,
)

Bridge = TestClient[Any, Any]
ORDERS_SELECT = re.compile(r"^\s*SELECT\b.*\bFROM orders\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture(autouse=True)
def _no_rescan_mid_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge's unsettled index scans once, at the first call (not again mid-test)."""
    slow = functools.partial(UnsettledIndex, rescan_seconds=3600)
    monkeypatch.setattr(remote_orders, "UnsettledIndex", slow)


@contextmanager
def orders_selects(bridge: Bridge) -> Iterator[list[str]]:
    """The SELECTs on the orders table the bridge makes inside the block."""
    engine: AsyncEngine = bridge.app[ENGINE]
    made: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if ORDERS_SELECT.match(statement):
            made.append(statement)

    for sync in units.engines(engine):
        event.listen(sync, "before_cursor_execute", record)
    try:
        yield made
    finally:
        for sync in units.engines(engine):
            event.remove(sync, "before_cursor_execute", record)


async def get_order(bridge: Bridge, order_id: int) -> tuple[int, Any]:
    response = await bridge.get(
        f"{PREFIX}/users/demo-user-1/orders/{order_id}", headers=basic_auth()
    )
    return response.status, await response.json()


async def list_orders(bridge: Bridge) -> Any:
    response = await bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert response.status == 200
    return await response.json()


async def check_one_select_per_get_and_list(bridge: Bridge) -> None:
    status, created = await place(bridge)
    assert status == 200, created
    order_id = created["order"]["id"]
    await get_order(bridge, order_id)  # warm-up: the unsettled index's first scan

    with orders_selects(bridge) as get_reads:
        status, got = await get_order(bridge, order_id)
    with orders_selects(bridge) as list_reads:
        listed = await list_orders(bridge)

    assert (status, got["order"]["id"], got["order"]["points"]) == (200, order_id, 100)
    assert [order["id"] for order in listed["orders"]] == [order_id]
    assert len(get_reads) == 1, get_reads
    assert len(list_reads) == 1, list_reads


async def test_a_get_and_a_list_each_read_the_ledger_once(incentives_client: Bridge) -> None:
    await check_one_select_per_get_and_list(incentives_client)


async def test_on_the_local_target_too(client: Bridge) -> None:
    await check_one_select_per_get_and_list(client)


async def ledger_row(bridge: Bridge) -> tuple[int, str | None] | None:
    engine: AsyncEngine = bridge.app[ENGINE]
    query = sa.select(tables.orders.c.id, tables.orders.c.backend_ref)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else (row.id, row.backend_ref)


async def test_a_get_of_an_unknown_order_settles_it_first(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[Bridge]],
) -> None:
    server, bridge = await unknown_order(start_sandbox, start_incentives_bridge)
    row = await ledger_row(bridge)
    assert row is not None
    order_id, ref = row
    assert ref is None

    status, body = await get_order(bridge, order_id)

    assert (status, body["order"]["id"], body["order"]["status"]) == (200, order_id, "approved")
    assert body["order"]["user"]["available_points"] == 9900
    settled = await ledger_row(bridge)
    assert settled is not None
    assert settled[0] == order_id
    assert settled[1] is not None  # confirmed with the purchase's user_offer_id
    assert await wallet_and_points(server) == (1, 9900)


async def test_a_get_of_an_unknown_order_the_upstream_then_refuses_is_not_found(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[Bridge]],
    sandbox_database: str,
) -> None:
    """The purchase never reached the upstream, and resent it is refused: no order."""
    server = await start_sandbox(
        [
            drop_connection(PURCHASE, after_commit=False),
            drop_connection(WALLET, after_commit=False, times=3),
        ]
    )
    clock = ManualClock()
    bridge = await start_incentives_bridge(server, clock=clock)
    status, _ = await place(bridge)
    assert status == 503
    row = await ledger_row(bridge)
    assert row is not None
    order_id, _ref = row
    clock.advance(minutes=5)
    spend_every_point(sandbox_database)

    status, body = await get_order(bridge, order_id)

    assert (status, body["errors"]["code"]) == (404, "not_found")
    assert await ledger_row(bridge) is None
    assert await wallet_and_points(server) == (0, 0)


def spend_every_point(sandbox_url: str) -> None:
    """The sandbox customer has no points left, so a purchase sent now is refused."""
    connection = sqlite3.connect(sa.make_url(sandbox_url).database or "")
    try:
        with connection:
            connection.execute(
                "UPDATE points_accounts SET balance = 0 WHERE customer_id = 'demo-user-1'"
            )
    finally:
        connection.close()
