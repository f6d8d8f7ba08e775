"""The thinnest end-to-end path: place an order over HTTP and read it back."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, basic_auth


async def test_create_then_get(client: TestClient[Any, Any]) -> None:
    created = await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        json={"order": {"quantity": 2}},
        headers=basic_auth(),
    )
    body = await created.json()
    assert created.status == 200
    assert body["status"] == "ok"
    assert body["order"]["points"] == 200
    assert body["order"]["user"] == {"id": "demo-user-1", "available_points": 9800}

    fetched = await client.get(
        f"{PREFIX}/users/demo-user-1/orders/{body['order']['id']}", headers=basic_auth()
    )
    assert (await fetched.json())["order"] == body["order"]
