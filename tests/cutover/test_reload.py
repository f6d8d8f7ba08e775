"""Hot reload and the admin view: SIGHUP, file changes, invalid files, reload under load."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bridge.cutover.edit import write_atomically
from bridge.cutover.policy import Operation, content_hash, parse_policy
from bridge.cutover.router import Router
from bridge.observability.middleware import METRICS
from bridge.runtime.admin import POLICY_SOURCE
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import NOW, ServerFactory, base_url
from tests.cutover.test_locator import send

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
LEGACY = {"apps": {"demo": {"target": "legacy"}}}
LOCAL = {"apps": {"demo": {"target": "local"}}}
TOKEN = "admin-secret-token"


def version(bridge: TestClient[Any, Any]) -> str:
    return bridge.server.app[POLICY_SOURCE].current().version.hash


def rewrite(path: Path, document: dict[str, Any] | str) -> str:
    raw = (document if isinstance(document, str) else yaml.safe_dump(document)).encode()
    write_atomically(path, raw)
    return content_hash(raw)


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until `condition` holds; give up after 6,000 turns."""
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def admin_view(bridge: TestClient[Any, Any], token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with bridge.get("/_bridge/policy", headers=headers) as answer:
        return answer.status, orjson.loads(await answer.read())


async def test_admin_view_shows_policy_and_version(routed_bridge: Bridge, tmp_path: Path) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, admin_token=TOKEN)
    status, body = await admin_view(bridge, TOKEN)
    assert status == 200
    assert body["version"]["hash"] == content_hash((tmp_path / "policy.yaml").read_bytes())
    assert body["policy"]["demo"]["get_order"]["target"] == "legacy"


async def test_admin_view_refuses_a_wrong_token(routed_bridge: Bridge) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, admin_token=TOKEN)
    status, body = await admin_view(bridge, "guess")
    assert (status, body["errors"]["code"]) == (401, "access_denied")


async def test_admin_view_is_absent_without_a_token(routed_bridge: Bridge) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY)
    status, _ = await admin_view(bridge, TOKEN)
    assert status == 404


async def test_sighup_reloads_the_policy(routed_bridge: Bridge, tmp_path: Path) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, policy_poll_seconds=3600)
    expected = rewrite(tmp_path / "policy.yaml", LOCAL)
    os.kill(os.getpid(), signal.SIGHUP)
    await until(lambda: version(bridge) == expected)
    assert (await send(bridge, "GET", "users/demo-user-1/orders"))["status"] == "ok"


async def test_file_change_is_picked_up_by_the_watcher(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, policy_poll_seconds=0.01)
    expected = rewrite(tmp_path / "policy.yaml", LOCAL)
    await until(lambda: version(bridge) == expected)


async def test_invalid_file_is_rejected_and_the_running_policy_stays(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, policy_poll_seconds=3600)
    before = version(bridge)
    rewrite(tmp_path / "policy.yaml", {"apps": {"demo": {"target": "mainframe"}}})
    with capture_logs() as logs:
        assert not bridge.server.app[POLICY_SOURCE].reload()
    assert version(bridge) == before
    (event,) = [e for e in logs if e["event"] == "policy_reload_failed"]
    assert "app 'demo', all operations, field 'target'" in event["reason"]


async def test_admin_view_shows_the_last_rejected_reload(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge(
        "http://legacy.invalid", LEGACY, admin_token=TOKEN, policy_poll_seconds=3600
    )
    rewrite(tmp_path / "policy.yaml", {"apps": {"demo": {"target": "mainframe"}}})
    bridge.server.app[POLICY_SOURCE].reload()
    _, body = await admin_view(bridge, TOKEN)
    assert "field 'target'" in body["last_rejected_reload"]["reason"]


async def test_a_valid_reload_clears_the_rejection(routed_bridge: Bridge, tmp_path: Path) -> None:
    bridge = await routed_bridge(
        "http://legacy.invalid", LEGACY, admin_token=TOKEN, policy_poll_seconds=3600
    )
    source = bridge.server.app[POLICY_SOURCE]
    rewrite(tmp_path / "policy.yaml", "apps: [")
    source.reload()
    rewrite(tmp_path / "policy.yaml", LOCAL)
    source.reload()
    _, body = await admin_view(bridge, TOKEN)
    assert body["last_rejected_reload"] is None


async def test_routing_follows_every_valid_version_under_a_steady_stream(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any, tmp_path: Path
) -> None:
    """Three changes (one invalid) while four clients list orders without pause.

    Each legacy customer has one order on legacy and none on the bridge, so a list tells
    which side answered. Every answer must be ok, and every call that ran entirely under
    one policy version must have gone where that version sends its customer.
    """
    behind = await legacy_server()
    bridge = await routed_bridge(base_url(behind), LEGACY, policy_poll_seconds=0.01)
    path = tmp_path / "policy.yaml"
    customers = list(CUSTOMERS)
    for customer in customers[:2]:
        await send(bridge, "POST", f"{customer}/offers/1/orders", {"order": {}})
    source = bridge.server.app[POLICY_SOURCE]
    seen: list[tuple[str, str, str, str]] = []
    stop = asyncio.Event()

    async def stream(customer: str) -> None:
        while not stop.is_set():
            before = version(bridge)
            async with bridge.get(f"{PREFIX}/{customer}/orders", headers=basic_auth()) as r:
                body = orjson.loads(await r.read())
            assert (r.status, body["status"]) == (200, "ok"), body
            side = "legacy" if body["orders"] else "local"
            seen.append((before, version(bridge), customer, side))

    async def served_under(hash_: str, count: int) -> None:
        await until(lambda: sum(1 for s in seen if s[0] == s[1] == hash_) >= count)

    workers = [asyncio.create_task(stream(c)) for c in customers + customers[:1]]
    first = version(bridge)
    await served_under(first, 20)
    half = {"apps": {"demo": {"target": "legacy", "canary": {"target": "local", "percent": 50}}}}
    second = rewrite(path, half)
    await until(lambda: version(bridge) == second)
    await served_under(second, 20)
    registry = bridge.server.app[METRICS].registry
    rewrite(path, "apps: {demo: {target: [unclosed")
    rejected = {"result": "rejected"}
    await until(lambda: registry.get_sample_value("bridge_policy_reloads_total", rejected) == 1)
    await served_under(second, 40)
    third = rewrite(path, LOCAL)
    await until(lambda: version(bridge) == third)
    await served_under(third, 20)
    stop.set()
    await asyncio.gather(*workers)

    expected = {first: LEGACY, second: half, third: LOCAL}
    for before, after, customer, side in seen:
        if before != after:
            continue
        assert side == expected_side(expected[before], source.apps, customer), (before, customer)
    assert {before for before, after, _, _ in seen if before == after} == set(expected)


CUSTOMERS = {
    "users/demo-user-1": "u:demo-user-1",
    "users/demo-user-ca": "u:demo-user-ca",
    "external/users/ext-demo-1": "x:ext-demo-1",
}


def expected_side(document: dict[str, Any], apps: Any, customer: str) -> str:
    """Where the router sends `customer`'s list under the policy `document`."""
    policy = parse_policy(yaml.safe_dump(document).encode(), apps, NOW, source="expected")
    (app,) = apps
    route = Router(lambda: policy).decide(app, Operation.LIST_ORDERS, CUSTOMERS[customer])
    return route.target.value
