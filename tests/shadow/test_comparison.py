"""Comparison over HTTP: a seeded mapping change shows with path, kind and values; an
ignore rule hides it until it expires; calibration proposes (never applies) noise rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from bridge.canonical import Order
from mappings.legacy import comparison
from mappings.legacy.order import ok_orders
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import NOW
from tests.shadow.conftest import (
    BridgeFactory,
    bridge_db,
    render_on_the_shadow_side,
    report,
    row,
    settle,
    url_of,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
USER = f"{PREFIX}/users/demo-user-1"
ORDER = {"order": {"quantity": 2}}


def legacy_primary_local_shadow() -> dict[str, Any]:
    """Every call served by legacy and shadowed to local (the shadow store), creates too."""
    return {"apps": {"demo": {"target": "legacy", "shadow": {"target": "local"}}}}


async def list_compared(
    shadow_bridge: BridgeFactory, legacy_server: ServerFactory, tmp_path: Path, **options: Any
) -> TestClient[Any, Any]:
    """A bridge (legacy primary, local shadow on a shadow store) holding the stored
    comparisons of one create (its ids paired) and of one list of that order on both sides;
    `options` go to the bridge."""
    legacy = await legacy_server()
    bridge = await shadow_bridge(
        legacy_primary_local_shadow(), legacy_url=url_of(legacy), **options
    )
    created = await bridge.post(f"{USER}/offers/1/orders", json=ORDER, headers=basic_auth())
    assert created.status == 200
    await settle(bridge_db(tmp_path), 1)
    await bridge.get(f"{USER}/orders", headers=basic_auth())
    await settle(bridge_db(tmp_path), 2)
    return bridge


def points_plus_one(orders: list[Order]) -> dict[str, Any]:
    """A deliberately wrong list mapping: every order's points off by one."""
    document = ok_orders(orders)
    for order in document["orders"]:
        order["points"] += 1
    return document


async def test_the_same_translation_matches(
    shadow_bridge: BridgeFactory, legacy_server: ServerFactory, tmp_path: Path
) -> None:
    bridge = await list_compared(shadow_bridge, legacy_server, tmp_path)
    listed = row(await report(bridge), "list_orders")
    assert listed["fields"] == [], listed["fields"]
    assert (listed["comparisons"], listed["matches"]) == (1, 1)


async def test_a_seeded_mapping_change_shows_path_kind_and_values(
    shadow_bridge: BridgeFactory,
    legacy_server: ServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry: CollectorRegistry,
) -> None:
    render_on_the_shadow_side(monkeypatch, "ok_orders", points_plus_one)
    bridge = await list_compared(shadow_bridge, legacy_server, tmp_path)
    listed = row(await report(bridge), "list_orders")
    assert listed["mismatches"] == 1
    assert listed["fields"] == [
        {
            "path": "orders[].points",
            "kind": "value",
            "count": 1,
            "rate": 1.0,
            "noise_rate": None,
            "noise": False,
            "sample": {"primary": 200, "candidate": 201},
        }
    ]
    labels = {"app": "demo", "operation": "list_orders", "field": "orders[].points"}
    counted = registry.get_sample_value(
        "bridge_shadow_mismatched_fields_total", labels | {"kind": "value"}
    )
    assert counted == 1
    timed = {"operation": "list_orders", "target": "local"}
    assert registry.get_sample_value("bridge_shadow_duration_seconds_count", timed) == 1


async def test_an_ignored_path_is_hidden_until_its_rule_expires(
    shadow_bridge: BridgeFactory,
    legacy_server: ServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    render_on_the_shadow_side(monkeypatch, "ok_orders", points_plus_one)
    rule = {
        "path": "orders[].points",
        "owner": "team-x",
        "reason": "known",
        "expires": "2026-03-01",
    }
    monkeypatch.setitem(comparison.RULES, "list_orders", {"ignore": [rule]})
    clock = ManualClock(NOW)
    bridge = await list_compared(shadow_bridge, legacy_server, tmp_path, clock=clock)
    hidden = row(await report(bridge), "list_orders")
    clock.advance(days=1)
    await bridge.get(f"{USER}/orders", headers=basic_auth())
    await settle(bridge_db(tmp_path), 3)
    shown = row(await report(bridge, since="2026-02-28"), "list_orders")
    assert (hidden["matches"], hidden["fields"], hidden["expired_rules"]) == (1, [], [])
    assert [(item["path"], item["count"]) for item in shown["fields"]] == [("orders[].points", 1)]
    assert shown["expired_rules"] == [rule]


def noisy_legacy() -> web.Application:
    """A primary whose list answer carries a field that changes on every call."""
    served = 0

    async def answer(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        return web.json_response({"status": "ok", "orders": [], "served": served})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def test_calibration_proposes_ignore_rules_for_noise_and_applies_none(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    legacy = await aiohttp_server(noisy_legacy())
    policy = {"apps": {"demo": {"target": "legacy", "shadow": {"target": "local"}}}}
    bridge = await shadow_bridge(
        policy, legacy_url=url_of(legacy), shadow={"calibration_rate": 1.0}
    )
    for _ in range(3):
        await bridge.get(f"{USER}/orders", headers=basic_auth())
    await settle(bridge_db(tmp_path), 6)
    listed = row(await report(bridge), "list_orders")
    assert listed["calibration_runs"] == 3
    assert [proposal["path"] for proposal in listed["proposed_ignores"]] == ["served"]
    assert listed["mismatches"] == 3  # proposed, not applied: the field still differs
    assert [(item["path"], item["noise"]) for item in listed["fields"]] == [("served", True)]
