"""How many times a call reads the ledger, on the Incentives target (and the local one).

A get reads its order once: the cutover's locator reads it, and the order service reuses that
row. A list reads one page. No call settles anything before it answers (unknown purchases are
settled by their own call, a retry of their key, or their undo job): a get of a row whose
outcome is unknown answers as if it were absent, and asks the upstream nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bridge.runtime.health import DATABASE
from bridge.store import tables
from bridge.store.executor import Database, read_one
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.incentives.test_lost_purchase import (
    PURCHASE,
    WALLET,
    drop_connection,
    place,
    wallet_and_points,
)

Bridge = TestClient[Any, Any]
ORDERS_SELECT = re.compile(r"^\s*SELECT\b.*\bFROM orders\b", re.IGNORECASE | re.DOTALL)


@contextmanager
def orders_selects(bridge: Bridge) -> Iterator[list[str]]:
    """The SELECTs on the orders table the bridge makes inside the block."""
    db: Database = bridge.app[DATABASE]
    made: list[str] = []

    def record(statement: str) -> None:
        if ORDERS_SELECT.match(statement):
            made.append(statement)

    db.listeners.append(record)
    try:
        yield made
    finally:
        db.listeners.remove(record)


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
    await get_order(bridge, order_id)  # warm-up

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
    query = sa.select(tables.orders.c.id, tables.orders.c.backend_ref)
    row = await read_one(bridge.app[DATABASE], query)
    return None if row is None else (row.id, row.backend_ref)


async def test_a_get_of_an_unknown_order_is_not_found_and_asks_nothing_upstream(
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[Bridge]],
) -> None:
    server = await start_sandbox(
        [
            drop_connection(PURCHASE, after_commit=True),
            drop_connection(WALLET, after_commit=False, times=3),
        ]
    )
    bridge = await start_incentives_bridge(server, clock=ManualClock())
    status, _ = await place(bridge, key="unknown-1")
    assert status == 503
    row = await ledger_row(bridge)
    assert row is not None
    order_id, ref = row
    assert ref is None

    with orders_selects(bridge) as reads:
        status, body = await get_order(bridge, order_id)
    listed = await list_orders(bridge)

    assert (status, body["errors"]["code"]) == (404, "not_found")
    assert listed["orders"] == []
    assert len(reads) == 1, reads  # as for any absent id: the locator's read, reused by the service
    assert await ledger_row(bridge) == (order_id, None)  # still unknown: the key may settle it
    assert await wallet_and_points(server) == (1, 9900)
