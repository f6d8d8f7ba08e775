"""Backfill: legacy history lands in the ledger with its ids, idempotently and resumably."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.cli import main
from bridge.cutover.backfill import Backfill, Summary
from bridge.store.executor import open_database
from bridge.store.history import HistoryStore
from tests.cutover.conftest import ServerFactory, base_url, demo_apps
from tests.cutover.test_locator import HOLD, send

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
LOCAL = {"apps": {"demo": {"target": "local"}}}
CUSTOMERS = ["demo-user-1", "external:ext-demo-ca"]


async def legacy_with_history(
    legacy_server: ServerFactory, aiohttp_client: Any
) -> tuple[TestServer, TestClient[Any, Any]]:
    """Five orders of demo-user-1 (two held for review) and one of demo-user-ca."""
    server = await legacy_server()
    legacy = await aiohttp_client(server)
    for body in (HOLD, {"order": {}}, HOLD, {"order": {"quantity": 2}}, {"order": {}}):
        await send(legacy, "POST", "users/demo-user-1/offers/1/orders", body)
    await send(legacy, "POST", "users/demo-user-ca/offers/1/orders", {"order": {}})
    return server, legacy


async def backfill(
    server: TestServer, tmp_path: Path, customers: list[str], done: set[str] | None = None
) -> Summary:
    """Run the backfill into the bridge's database (tests/cutover/conftest.py: bridge.db)."""
    engine = open_database(f"sqlite:///{tmp_path / 'bridge.db'}")
    (app,) = demo_apps(legacy_base_url=base_url(server))
    try:
        async with aiohttp.ClientSession() as session:
            run = Backfill(app, session, HistoryStore(engine), page_size=2)
            return await run.run(customers, done or set(), io.StringIO(), show_progress=False)
    finally:
        await engine.close()


@pytest.fixture
async def migrated(
    legacy_server: ServerFactory, aiohttp_client: Any, routed_bridge: Bridge, tmp_path: Path
) -> tuple[TestServer, TestClient[Any, Any], TestClient[Any, Any]]:
    """Legacy with history, and a bridge on the local target with that legacy configured."""
    server, legacy = await legacy_with_history(legacy_server, aiohttp_client)
    bridge = await routed_bridge(base_url(server), LOCAL)
    return server, legacy, bridge


def without_points(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "user": {"id": order["user"]["id"]}}


async def test_backfilled_history_lists_on_the_migrated_target(
    migrated: Any, tmp_path: Path
) -> None:
    server, legacy, bridge = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    listed = await send(bridge, "GET", "users/demo-user-1/orders")
    expected = await send(legacy, "GET", "users/demo-user-1/orders")
    assert [without_points(o) for o in listed["orders"]] == [
        without_points(o) for o in expected["orders"]
    ]


async def test_backfilled_order_is_fetched_from_the_ledger_with_its_id(
    migrated: Any, tmp_path: Path
) -> None:
    server, _, bridge = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    await server.close()  # legacy gone: the answer can only come from the ledger
    fetched = await send(bridge, "GET", "external/users/ext-demo-ca/orders/6")
    assert (fetched["order"]["id"], fetched["order"]["user_id"]) == (6, "demo-user-ca")


async def test_summary_counts_pages_customers_and_orders(migrated: Any, tmp_path: Path) -> None:
    server, _, _ = migrated
    summary = await backfill(server, tmp_path, [*CUSTOMERS, "nobody"])
    assert summary.orders == {"inserted": 6}
    assert summary.customers == {"done": 2, "unknown_customer": 1}
    assert summary.pages == 3 + 1 + 1


async def test_rerun_changes_nothing(migrated: Any, tmp_path: Path) -> None:
    server, _, _ = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    again = await backfill(server, tmp_path, CUSTOMERS)
    assert again.orders == {"unchanged": 6}


async def test_rerun_refreshes_a_status_changed_on_legacy(migrated: Any, tmp_path: Path) -> None:
    server, legacy, _ = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    await send(legacy, "POST", "orders/1", {"order": {"status": "approved"}})
    again = await backfill(server, tmp_path, CUSTOMERS)
    assert again.orders == {"unchanged": 5, "updated": 1}


async def test_resume_skips_finished_customers(migrated: Any, tmp_path: Path) -> None:
    server, _, _ = migrated
    summary = await backfill(server, tmp_path, CUSTOMERS, done={"demo-user-1"})
    assert (summary.customers, summary.orders) == ({"already_done": 1, "done": 1}, {"inserted": 1})


async def test_update_of_a_history_order_goes_to_legacy(migrated: Any, tmp_path: Path) -> None:
    server, legacy, bridge = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    updated = await send(bridge, "PUT", "orders/3", {"order": {"status": "rejected"}})
    assert updated["order"]["status"] == "rejected"
    direct = await send(legacy, "GET", "users/demo-user-1/orders/3")
    assert direct["order"]["status"] == "rejected"


async def test_history_order_is_read_only_without_legacy(
    migrated: Any, tmp_path: Path, routed_bridge: Bridge
) -> None:
    server, _, _ = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    alone = await routed_bridge(None, None)
    answer = await send(alone, "PUT", "orders/3", {"order": {"status": "approved"}})
    assert answer["errors"]["code"] == "invalid_order_status"


def test_cli_refuses_an_app_without_legacy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    customers = tmp_path / "customers.txt"
    customers.write_text("demo-user-1\n")
    monkeypatch.setenv("BRIDGE_CONFIG_FILE", "demo/apps.yaml")
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'bridge.db'}")
    assert main(["backfill", "--app", "demo", "--customers", str(customers)]) == 2
    assert "has no legacy_base_url" in capsys.readouterr().err


async def test_history_row_follows_an_update_made_through_the_bridge(
    migrated: Any, tmp_path: Path
) -> None:
    server, _, bridge = migrated
    await backfill(server, tmp_path, CUSTOMERS)
    await send(bridge, "PUT", "orders/3", {"order": {"status": "approved"}})
    listed = await send(bridge, "GET", "users/demo-user-1/orders")
    assert {o["id"]: o["status"] for o in listed["orders"]}[3] == "approved"
