"""BRIDGE_METRICS_ENABLED=false: every metric is a no-op (the bench's arm D0)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import basic_auth

ORDERS = "/priv/v1/apps/demo-api-key/users/demo-user-1/orders"


async def test_calls_are_not_counted_when_metrics_are_off(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    client = await bridge_client(metrics_enabled=False)
    answer = await client.get(ORDERS, headers=basic_auth())
    assert answer.status == 200
    page = await (await client.get("/metrics")).text()
    assert "bridge_requests_total" not in page


async def test_calls_are_counted_by_default(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    client = await bridge_client()
    await client.get(ORDERS, headers=basic_auth())
    page = await (await client.get("/metrics")).text()
    assert 'bridge_requests_total{app="demo",code="",operation="list_orders"' in page
