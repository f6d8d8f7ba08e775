"""Shadow comparisons that tell the truth, with a real Incentives sandbox as the shadow.

The bridge serves the demo app on the local target and shadows every call to the sandbox
(through the shadow store). Two sides that agree must report no mismatch whatever the
timing (stamps across a second boundary), the shadow side's refusals, sampling or outages;
a seeded difference must still show, at the right field path.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler
from structlog.testing import capture_logs

import bridge.shadow.context as context_module
from bridge.sandbox.errors import SandboxError, connect_error
from bridge.shadow.runner import ShadowRunner
from bridge.store import tables as t
from bridge.store.executor import change, open_database
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import NOW, demo_apps
from tests.incentives.conftest import (
    base_url,
    incentives_config,
    sandbox,
    sandbox_database,
    start_sandbox,
)
from tests.queries import rows_at
from tests.shadow.conftest import BridgeFactory, bridge_db, report, settle, shadow_db
from tests.shadow.test_incentives_shadow import ADDRESS, USER

__all__ = ["sandbox", "sandbox_database", "start_sandbox"]

SHADOW = {"target": "incentives", "side_effect_free": True}
POLICY: dict[str, Any] = {"apps": {"demo": {"target": "local", "shadow": SHADOW}}}


@dataclass
class TickingClock:
    """Moves 350 ms on every reading, from just before a second boundary: the primary and
    the shadow side stamp one order at least one reading apart, often in different seconds."""

    current: datetime = NOW + timedelta(milliseconds=900)

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=350)
        return self.current


@dataclass
class Calls:
    """The legacy calls of one test, counted so that `settle` knows what to wait for."""

    client: TestClient[Any, Any]
    made: int = 0

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, headers=basic_auth())
        self.made += 1
        document: dict[str, Any] = await response.json()
        return document

    async def create(self, offer: int = 1, **order: Any) -> int:
        answer = await self.call(
            "POST", f"{USER}/offers/{offer}/orders", {"order": {"quantity": 1, **order}}
        )
        assert answer["status"] == "ok", answer
        return int(answer["order"]["id"])

    async def get(self, order: int) -> dict[str, Any]:
        return await self.call("GET", f"{USER}/orders/{order}")

    async def list(self) -> dict[str, Any]:
        return await self.call("GET", f"{USER}/orders")

    async def approve(self, order: int) -> dict[str, Any]:
        return await self.call("PUT", f"{PREFIX}/orders/{order}", {"order": {"status": "approved"}})


StartBridge = Callable[..., Awaitable[Calls]]


@pytest.fixture
def start(shadow_bridge: BridgeFactory) -> StartBridge:
    async def begin(server: TestServer, policy: dict[str, Any] = POLICY, **options: Any) -> Calls:
        app = demo_apps()[0].model_copy(update={"incentives": incentives_config(base_url(server))})
        return Calls(await shadow_bridge(policy, apps=(app,), **options))

    return begin


async def outcomes(calls: Calls, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Wait for every shadow of `calls`, then the report's row of each operation."""
    await settle(bridge_db(tmp_path), calls.made)
    document = await report(calls.client)
    return {row["operation"]: row for row in document["operations"]}


def counts(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int, int, int]]:
    """Per operation: (matches, mismatches, errors, not_comparable)."""
    return {
        name: (row["matches"], row["mismatches"], row["errors"], row["not_comparable"])
        for name, row in rows.items()
    }


async def paired_stamps(tmp_path: Path) -> list[tuple[datetime, datetime]]:
    """(primary created_at, shadow created_at) of every order pair the runner recorded."""
    pairs = await _rows(bridge_db(tmp_path), sa.select(t.shadow_id_pairs))
    primary = dict(
        await _rows(bridge_db(tmp_path), sa.select(t.orders.c.id, t.orders.c.created_at))
    )
    shadow = dict(await _rows(shadow_db(tmp_path), sa.select(t.orders.c.id, t.orders.c.created_at)))
    return [(primary[int(p.primary_id)], shadow[int(p.shadow_id)]) for p in pairs]


async def _rows(url: str, query: sa.Select[Any]) -> list[Any]:
    return await rows_at(url, query)


async def test_stamps_across_a_second_boundary_match_on_every_operation(
    start: StartBridge, sandbox: TestServer, tmp_path: Path
) -> None:
    calls = await start(sandbox, clock=TickingClock())
    first = await calls.create()
    held = await calls.create(offer=2, shipping_address=ADDRESS)  # reviewed: pending
    for order in (first, held):
        await calls.get(order)
    await calls.list()
    assert (await calls.approve(held))["status"] == "ok"
    rows = await outcomes(calls, tmp_path)
    stamps = await paired_stamps(tmp_path)
    assert len(stamps) == 2
    assert all(int(p.timestamp()) != int(s.timestamp()) for p, s in stamps), stamps
    assert counts(rows) == {
        "create_order": (2, 0, 0, 0),
        "get_order": (2, 0, 0, 0),
        "list_orders": (1, 0, 0, 0),
        "update_order_status": (1, 0, 0, 0),
    }


def refusing_first_purchase() -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A sandbox middleware: the first purchase is refused (out of stock), the rest served."""
    refused: list[str] = []

    @web.middleware
    async def refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.endswith("/purchase_offer") and not refused:
            refused.append(request.path)
            return connect_error(SandboxError("offer_out_of_stock", "Out of stock."))
        return await handler(request)

    return refuse


async def test_a_shadow_side_refusal_never_makes_later_comparisons_drift(
    start: StartBridge, start_sandbox: Callable[..., Awaitable[TestServer]], tmp_path: Path
) -> None:
    calls = await start(await start_sandbox(middlewares=[refusing_first_purchase()]))
    refused = await calls.create()
    for _ in range(20):
        order = await calls.create()
        await calls.get(order)
        await calls.list()
    await calls.get(refused)  # an order the shadow side never made
    rows = await outcomes(calls, tmp_path)
    pairs = await _rows(bridge_db(tmp_path), sa.select(t.shadow_id_pairs))
    assert all(pair.primary_id != pair.shadow_id for pair in pairs)  # the numberings drifted
    assert counts(rows) == {
        "create_order": (20, 1, 0, 0),
        "get_order": (20, 0, 0, 1),
        "list_orders": (20, 0, 0, 0),
        "update_order_status": (0, 0, 0, 0),
    }
    assert {item["path"] for item in rows["create_order"]["fields"]} == {
        "status",
        "order",
        "errors",
    }


async def test_sampled_creates_then_full_reads_show_no_drift(
    start: StartBridge, sandbox: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_other: Iterator[float] = itertools.cycle([0.25, 0.75])  # create: in, out, in, ...

    def runner(*args: Any, **kwargs: Any) -> ShadowRunner:
        return ShadowRunner(*args, **kwargs, sample=lambda: next(every_other))

    monkeypatch.setattr(context_module, "ShadowRunner", runner)
    sampled = {"shadow": {**SHADOW, "sample_rate": 0.5}}
    policy = {"apps": {"demo": {**POLICY["apps"]["demo"], "operations": {"create_order": sampled}}}}
    calls = await start(sandbox, policy)
    orders = [await calls.create() for _ in range(8)]
    made = calls.made
    await settle(bridge_db(tmp_path), 4)
    for order in orders:
        await calls.get(order)
    await calls.list()
    calls.made -= made - 4  # unsampled creates store no comparison
    rows = await outcomes(calls, tmp_path)
    assert counts(rows) == {
        "create_order": (4, 0, 0, 0),
        "get_order": (4, 0, 0, 4),
        "list_orders": (1, 0, 0, 0),
        "update_order_status": (0, 0, 0, 0),
    }


async def test_a_stopped_sandbox_gives_errors_not_mismatches_and_an_undecidable_verdict(
    start: StartBridge, sandbox: TestServer, tmp_path: Path
) -> None:
    calls = await start(sandbox, shadow={"ready_min_comparisons": 4})
    before = [await calls.create() for _ in range(2)]
    for order in before:
        await calls.get(order)
    await settle(bridge_db(tmp_path), calls.made)
    await sandbox.close()
    with capture_logs() as logs:
        for _ in range(2):
            await calls.create()
        for order in before:
            await calls.get(order)
        await calls.list()
        rows = await outcomes(calls, tmp_path)
    found = counts(rows)
    assert all(mismatches == 0 for _, mismatches, _, _ in found.values()), found
    # reads of orders the shadow store already holds are still answered from it, and match
    assert found == {
        "create_order": (2, 0, 2, 0),
        "get_order": (4, 0, 0, 0),
        "list_orders": (1, 0, 0, 0),
        "update_order_status": (0, 0, 0, 0),
    }
    failed = [log for log in logs if log["event"] == "shadow_call_failed"]
    assert [(log["operation"], log["error"]) for log in failed] == [
        ("create_order", "http_503")
    ] * 2
    create = rows["create_order"]["verdict"]
    assert (create["state"], create["ready"]) == ("undecidable", False)
    assert create["reasons"][0].startswith("2 shadow calls failed")


async def test_a_seeded_offer_name_change_shows_at_its_field_path(
    start: StartBridge, sandbox: TestServer, sandbox_database: str, tmp_path: Path
) -> None:
    engine = open_database(sandbox_database)
    try:
        await change(
            engine, sa.update(t.offers).where(t.offers.c.id == 1).values(name="Renamed in sandbox")
        )
    finally:
        await engine.close()
    calls = await start(sandbox)
    order = await calls.create()
    await calls.create()
    await calls.get(order)
    await calls.list()
    rows = await outcomes(calls, tmp_path)
    fields = {
        name: [
            (item["path"], item["kind"], item["sample"]["candidate"], item["count"], item["rate"])
            for item in row["fields"]
        ]
        for name, row in rows.items()
    }
    # counted once per comparison (the list differs at orders[].name in both of its orders)
    assert fields == {
        "create_order": [("order.name", "value", "Renamed in sandbox", 2, 1.0)],
        "get_order": [("order.name", "value", "Renamed in sandbox", 1, 1.0)],
        "list_orders": [("orders[].name", "value", "Renamed in sandbox", 1, 1.0)],
        "update_order_status": [],
    }


async def test_a_restarted_bridge_or_another_replica_reads_the_same_pairs(
    start: StartBridge, start_sandbox: Callable[..., Awaitable[TestServer]], tmp_path: Path
) -> None:
    sandbox = await start_sandbox(middlewares=[refusing_first_purchase()])
    first = await start(sandbox)
    await first.create()  # refused on the shadow side: the numberings part here
    order = await first.create()
    await settle(bridge_db(tmp_path), first.made)
    await first.client.close()
    stores = {"database_url": bridge_db(tmp_path)}
    again = await start(sandbox, home="b", shadow={"database_url": shadow_db(tmp_path)}, **stores)
    await again.get(order)
    await again.list()
    again.made += first.made
    assert counts(await outcomes(again, tmp_path)) == {
        "create_order": (1, 1, 0, 0),
        "get_order": (1, 0, 0, 0),
        "list_orders": (1, 0, 0, 0),
        "update_order_status": (0, 0, 0, 0),
    }


async def test_a_failed_shadow_update_retires_its_order_instead_of_mismatching_later(
    start: StartBridge, sandbox: TestServer, tmp_path: Path
) -> None:
    """The sandbox is down when an order is rejected: the shadow's copy stays pending. Its
    later gets and lists are not comparable (the pair is retired), never mismatches."""
    calls = await start(sandbox)
    order = await calls.create(status="pending_approval")
    await settle(bridge_db(tmp_path), calls.made)
    await sandbox.close()
    answer = await calls.call("PUT", f"{PREFIX}/orders/{order}", {"order": {"status": "rejected"}})
    assert answer["order"]["status"] == "rejected", answer
    await settle(bridge_db(tmp_path), calls.made)
    await calls.get(order)
    await calls.list()
    found = counts(await outcomes(calls, tmp_path))
    assert found["update_order_status"] == (0, 0, 1, 0)
    assert found["get_order"] == (0, 0, 0, 1)
    assert found["list_orders"][1] == 0, found
