"""The thinnest Incentives path: a legacy create order, served by the sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, basic_auth


async def test_create_order_spends_sandbox_points(incentives_client: TestClient[Any, Any]) -> None:
    created = await incentives_client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        json={"order": {"quantity": 2}},
        headers=basic_auth(),
    )
    body = await created.json()
    assert created.status == 200, body
    assert body["order"]["points"] == 200
    assert body["order"]["status"] == "approved"
    assert body["order"]["name"] == "Electronic Giftcard"
    assert body["order"]["user"] == {"id": "demo-user-1", "available_points": 9800}
