"""No email, address or IP from the requests reaches the diff store, the report, the status
page or the request recorder, even when a (seeded) candidate echoes them in its answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.canonical import Order
from mappings.legacy.order import ok_order
from tests.conftest import PREFIX, basic_auth
from tests.shadow.conftest import (
    ADMIN_TOKEN,
    BridgeFactory,
    bridge_db,
    render_on_the_shadow_side,
    settle,
    url_of,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
USER = f"{PREFIX}/users/demo-user-1"
EMAIL = "jane.doe@example.org"
IP = "198.51.100.23"
STREET = "17 Hidden Lane"
ADDRESSEE = "Jane Doe"
NEEDLES = (EMAIL, IP, STREET, ADDRESSEE, "Springfield")
ADDRESS = {
    "addressee": ADDRESSEE,
    "street1": STREET,
    "city": "Springfield",
    "state_province": "IL",
    "country": "US",
    "postal_code": "62701",
}


def leaky_order(order: Order) -> dict[str, Any]:
    """A seeded candidate mapping that echoes personal data in new and changed fields."""
    document = ok_order(order)
    document["order"]["note"] = f"ship to {EMAIL} from {IP}"
    document["order"]["shipping_address"]["street1"] = f"{STREET} (rear)"
    return document


@pytest.fixture
async def leaky_bridge(
    shadow_bridge: BridgeFactory,
    legacy_server: Callable[..., Awaitable[TestServer]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TestClient[Any, Any]:
    """Legacy primary, writes and reads shadowed to local; one order with personal data."""
    render_on_the_shadow_side(monkeypatch, "ok_order", leaky_order)
    legacy = await legacy_server()
    policy = {"apps": {"demo": {"target": "legacy", "shadow": {"target": "local"}}}}
    record = tmp_path / "requests.jsonl"
    client = await shadow_bridge(
        policy, legacy_url=url_of(legacy), shadow={"record_file": record, "record_rate": 1.0}
    )
    body = {"order": {"quantity": 1, "email": EMAIL, "ip": IP, "shipping_address": ADDRESS}}
    created = await client.post(f"{USER}/offers/2/orders", json=body, headers=basic_auth())
    assert (await created.json())["status"] == "ok"
    await client.get(f"{USER}/orders?ip={IP}", headers=basic_auth())
    await settle(bridge_db(tmp_path), 2)
    return client


def raw_store_bytes(tmp_path: Path) -> bytes:
    """Every byte of the bridge's SQLite store, its WAL included."""
    return b"".join(path.read_bytes() for path in sorted((tmp_path / "a").glob("bridge.db*")))


async def test_the_diff_store_keeps_the_differences_without_personal_data(
    leaky_bridge: TestClient[Any, Any], tmp_path: Path
) -> None:
    raw = raw_store_bytes(tmp_path)
    assert b"order.shipping_address.street1" in raw
    assert b"order.note" in raw
    assert [needle for needle in NEEDLES if needle.encode() in raw] == []


async def test_the_report_and_status_page_show_no_personal_data(
    leaky_bridge: TestClient[Any, Any],
) -> None:
    bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    report = await (await leaky_bridge.get("/_bridge/shadow", headers=bearer)).text()
    page = await (await leaky_bridge.get("/_bridge/", headers=bearer)).text()
    assert "order.note" in report
    assert "order.note" in page
    assert [needle for needle in NEEDLES if needle in report + page] == []


async def test_the_request_recorder_writes_no_personal_data(
    leaky_bridge: TestClient[Any, Any], tmp_path: Path
) -> None:
    await leaky_bridge.close()  # flushes the recorder
    recorded = (tmp_path / "requests.jsonl").read_text(encoding="utf-8")
    assert recorded.count("\n") == 2
    assert "{api_key}" in recorded
    assert [needle for needle in (*NEEDLES, "demo-api-key") if needle in recorded] == []
