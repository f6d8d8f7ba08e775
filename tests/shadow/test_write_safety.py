"""Writes are shadowed only where no real points can be spent: the separate shadow store,
or a target the policy marks side_effect_free. A policy that would shadow a write to a live
upstream is refused at load; without a shadow store a write is never shadowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from bridge.cutover.policy import PolicyError
from bridge.store import tables as t
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import echo_app
from tests.shadow.conftest import (
    BridgeFactory,
    bridge_db,
    count_rows,
    metric,
    settle,
    shadow_db,
    shadow_policy,
    url_of,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
CREATE = f"{PREFIX}/users/demo-user-1/offers/1/orders"
ORDER = {"order": {"quantity": 1}}


@pytest.mark.parametrize("operation", ["create_order", "update_order_status"])
async def test_a_policy_shadowing_a_write_to_a_live_upstream_is_refused(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, operation: str
) -> None:
    legacy = await aiohttp_server(echo_app([]))
    policy = {
        "apps": {
            "demo": {"target": "local", "operations": {operation: {"shadow": {"target": "legacy"}}}}
        }
    }
    with pytest.raises(PolicyError, match=f"operation '{operation}'.*side_effect_free"):
        await shadow_bridge(policy, legacy_url=url_of(legacy))


async def test_a_shadowed_write_lands_on_the_shadow_store_only(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    seen: list[object] = []
    legacy = await aiohttp_server(echo_app(seen, b'{"status":"ok","order":{}}', "application/json"))
    client = await shadow_bridge(shadow_policy("legacy", "local"), legacy_url=url_of(legacy))
    response = await client.post(CREATE, json=ORDER, headers=basic_auth())
    assert response.status == 202  # the primary (legacy) answered
    await settle(bridge_db(tmp_path), 1)
    assert len(seen) == 1
    assert await count_rows(shadow_db(tmp_path), t.orders) == 1
    assert await count_rows(bridge_db(tmp_path), t.orders) == 0


async def test_without_a_shadow_store_a_write_is_dropped_not_shadowed(
    shadow_bridge: BridgeFactory,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
    registry: CollectorRegistry,
) -> None:
    seen: list[object] = []
    legacy = await aiohttp_server(echo_app(seen, b'{"status":"ok","order":{}}', "application/json"))
    client = await shadow_bridge(
        shadow_policy("legacy", "local"), legacy_url=url_of(legacy), shadow_store=False
    )
    await client.post(CREATE, json=ORDER, headers=basic_auth())
    await client.close()  # drains the runner
    assert metric(registry, "dropped", "create_order", "local") == 1
    assert await count_rows(bridge_db(tmp_path), t.orders) == 0
    assert await count_rows(bridge_db(tmp_path), t.shadow_comparisons) == 0


async def test_calibration_never_repeats_a_write_on_the_primary(
    shadow_bridge: BridgeFactory, aiohttp_server: ServerFactory, tmp_path: Path
) -> None:
    seen: list[object] = []
    legacy = await aiohttp_server(echo_app(seen, b'{"status":"ok","order":{}}', "application/json"))
    client = await shadow_bridge(
        shadow_policy("legacy", "local"),
        legacy_url=url_of(legacy),
        shadow={"calibration_rate": 1.0},
    )
    await client.post(CREATE, json=ORDER, headers=basic_auth())
    await settle(bridge_db(tmp_path), 1)
    await client.close()
    assert len(seen) == 1
    assert await count_rows(bridge_db(tmp_path), t.shadow_comparisons) == 1
