"""Legacy passthrough: every answer through the bridge is byte-identical to legacy's own.

Two legacy stand-ins start from the same data and the same clock: one is called directly,
the other through the bridge (policy target `legacy`). Each call of the scenario goes to both,
in the same order, and the status, content type and body bytes must be equal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.observability.middleware import METRICS
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import ServerFactory, base_url, echo_app

Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]
LEGACY_POLICY = {"apps": {"demo": {"target": "legacy"}}}
JSON = {"Content-Type": "application/json"}

SCENARIO: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("POST", "users/demo-user-1/offers/1/orders", b'{"order":{"quantity":2}}', {}),
    ("POST", "external/users/ext-demo-1/offers/1/orders", b'{"order":{"quantity":1}}', {}),
    (
        "POST",
        "users/demo-user-1/offers/1/orders",
        b'{"order":{"quantity":1,"status":"pending_approval","external_id":"ext-o-1"}}',
        {},
    ),
    ("POST", "users/nobody/offers/1/orders", b'{"order":{"quantity":1}}', {}),
    ("POST", "users/demo-user-unregistered/offers/1/orders", b'{"order":{}}', {}),
    ("POST", "users/demo-user-1/offers/4/orders", b'{"order":{}}', {}),
    ("POST", "users/demo-user-1/offers/abc/orders", b'{"order":{}}', {}),
    ("POST", "users/demo-user-1/offers/1/orders", b"{not json", {}),
    ("POST", "users/demo-user-1/offers/2/orders", b'{"order":{"quantity":1}}', {}),
    ("POST", "users/demo-user-ca/offers/3/orders", b'{"order":{"quantity":1}}', {}),
    ("POST", "users/demo-user-1/offers/1/orders", b'{"order":{"quantity":0}}', {}),
    ("GET", "users/demo-user-1/orders", None, {}),
    ("GET", "users/demo-user-1/orders?limit=1&page=2", None, {}),
    ("GET", "external/users/ext-demo-1/orders?after=2020-01-01", None, {}),
    ("GET", "users/demo-user-1/orders?limit=abc", None, {}),
    ("GET", "users/nobody/orders", None, {}),
    ("GET", "users/demo-user-1/orders/1", None, {}),
    ("GET", "external/users/ext-demo-1/orders/2", None, {}),
    ("GET", "users/demo-user-1/orders/999", None, {}),
    ("GET", "users/demo-user-1/orders/abc", None, {}),
    ("POST", "orders/3", b'{"order":{"status":"approved"}}', {}),
    ("PUT", "orders/3", b'{"order":{"status":"rejected"}}', {}),
    ("PUT", "external/orders/ext-o-1", b'{"order":{"status":"approved"}}', {}),
    ("POST", "orders/1", b'{"order":{"status":"shipped"}}', {}),
    ("POST", "orders/999", b'{"order":{"status":"approved"}}', {}),
    ("GET", "users/demo-user-1/orders/1", None, {"Authorization": "Basic bm9wZTpub3Bl"}),
    ("GET", "users/demo-user-1/orders", None, {"Authorization": ""}),
    (
        "POST",
        "external/users/ext-demo-1/offers/2/orders",
        b'{"order":{"external_id":"ext-o-2","shipping_address":{"addressee":"A B",'
        b'"street1":"1 Main St","city":"Boston","state_province":"MA","country":"US",'
        b'"postal_code":"02110"}}}',
        {},
    ),
    ("POST", "external/orders/ext-o-2", b'{"order":{"status":"rejected"}}', {}),
    ("POST", "external/orders/ext-o-2", b'{"order":{"status":"approved"}}', {}),
    ("DELETE", "orders/1", None, {}),
    ("GET", "users/demo-user-1/nothing-here", None, {}),
]


async def call(
    client: TestClient[Any, Any], method: str, path: str, body: bytes | None, extra: dict[str, str]
) -> tuple[int, str, bytes]:
    headers = {**basic_auth(), **JSON, **extra}
    async with client.request(method, f"{PREFIX}/{path}", data=body, headers=headers) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), await answer.read()


async def test_every_answer_is_byte_identical_to_legacy(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any
) -> None:
    direct = await aiohttp_client(await legacy_server())
    behind = await legacy_server()
    bridge = await routed_bridge(base_url(behind), LEGACY_POLICY)
    for method, path, body, extra in SCENARIO:
        expected = await call(direct, method, path, body, extra)
        got = await call(bridge, method, path, body, extra)
        assert got == expected, (method, path)


async def test_scenario_covers_errors_and_successes(
    legacy_server: ServerFactory, aiohttp_client: Any
) -> None:
    direct = await aiohttp_client(await legacy_server())
    statuses = {(await call(direct, *step))[0] for step in SCENARIO}
    assert {200, 401, 404} <= statuses


async def test_order_placed_through_the_bridge_lands_on_legacy(
    legacy_server: ServerFactory, routed_bridge: Bridge, aiohttp_client: Any
) -> None:
    behind = await legacy_server()
    bridge = await routed_bridge(base_url(behind), LEGACY_POLICY)
    await call(bridge, *SCENARIO[0])
    direct = await aiohttp_client(behind)
    _, _, listed = await call(direct, "GET", "users/demo-user-1/orders", None, {})
    assert len(orjson.loads(listed)["orders"]) == 1


async def test_headers_are_allow_listed_and_forwarded_for_is_added(
    aiohttp_server: Any, routed_bridge: Bridge
) -> None:
    seen: list[web.Request] = []
    upstream: TestServer = await aiohttp_server(echo_app(seen))
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY)
    extra = {
        "X-Forwarded-For": "198.51.100.9",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "Cookie": "session=1",
        "X-Custom": "1",
        "Accept-Language": "fr-CA",
    }
    await call(bridge, "GET", "users/demo-user-1/orders?limit=2&page=1", None, extra)
    (received,) = seen
    assert received.path_qs == f"{PREFIX}/users/demo-user-1/orders?limit=2&page=1"
    assert received.headers["Authorization"] == basic_auth()["Authorization"]
    assert received.headers["Accept-Language"] == "fr-CA"
    assert received.headers["X-Forwarded-For"] == "198.51.100.9, 127.0.0.1"
    for dropped in ("Keep-Alive", "Proxy-Authorization", "Cookie", "X-Custom"):
        assert dropped not in received.headers


async def test_body_and_method_are_forwarded_unchanged(
    aiohttp_server: Any, routed_bridge: Bridge
) -> None:
    seen: list[web.Request] = []
    upstream = await aiohttp_server(echo_app(seen))
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY)
    body = b'{"order": {"status" : "approved"}}'
    await call(bridge, "PUT", "external/orders/a%20b", body, {})
    (received,) = seen
    assert (received.method, received.raw_path) == ("PUT", f"{PREFIX}/external/orders/a%20b")
    assert await received.read() == body


async def test_status_and_content_type_come_back_unchanged(
    aiohttp_server: Any, routed_bridge: Bridge
) -> None:
    upstream = await aiohttp_server(echo_app([], b"\x00raw", "text/x-legacy; charset=latin-1"))
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY)
    answer = await call(bridge, "GET", "users/demo-user-1/orders", None, {})
    assert answer == (202, "text/x-legacy; charset=latin-1", b"\x00raw")


async def test_unreachable_legacy_is_not_available(
    unused_tcp_port: int, routed_bridge: Bridge
) -> None:
    bridge = await routed_bridge(f"http://127.0.0.1:{unused_tcp_port}", LEGACY_POLICY)
    status, _, body = await call(bridge, "GET", "users/demo-user-1/orders", None, {})
    assert (status, b'"code":"not_available"' in body) == (503, True)


async def test_legacy_that_does_not_answer_in_time_is_not_available(
    aiohttp_server: Any, routed_bridge: Bridge
) -> None:
    never = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    upstream_app = web.Application()
    upstream_app.router.add_route("*", "/{tail:.*}", hang)
    upstream = await aiohttp_server(upstream_app)
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY, legacy_timeout_seconds=0.2)
    status, _, body = await call(bridge, "GET", "users/demo-user-1/orders", None, {})
    assert (status, b'"code":"not_available"' in body) == (503, True)


async def test_without_policy_file_the_app_target_still_serves(routed_bridge: Bridge) -> None:
    bridge = await routed_bridge(None, None)
    status, _, body = await call(bridge, *SCENARIO[0])
    assert (status, b'"status":"ok"' in body) == (200, True)


async def test_legacy_error_is_counted_with_its_code(
    legacy_server: ServerFactory, routed_bridge: Bridge
) -> None:
    behind = await legacy_server()
    bridge = await routed_bridge(base_url(behind), LEGACY_POLICY)
    await call(bridge, "GET", "users/nobody/orders", None, {})
    labels = {
        "app": "demo",
        "operation": "list_orders",
        "target": "legacy",
        "outcome": "error",
        "code": "user_not_found",
    }
    registry = bridge.server.app[METRICS].registry
    assert registry.get_sample_value("bridge_requests_total", labels) == 1


async def test_every_legacy_call_is_counted_and_timed_by_outcome(
    aiohttp_server: Any, unused_tcp_port: int, routed_bridge: Bridge
) -> None:
    upstream = await aiohttp_server(echo_app([]))
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY)
    for _ in range(3):
        await call(bridge, "GET", "users/demo-user-1/orders", None, {})
    registry = bridge.server.app[METRICS].registry
    labels = {"upstream": "legacy", "call": "list_orders"}
    assert (
        registry.get_sample_value("bridge_upstream_requests_total", {**labels, "outcome": "ok"})
        == 3
    )
    assert registry.get_sample_value("bridge_upstream_request_duration_seconds_count", labels) == 3
    assert (
        registry.get_sample_value("bridge_upstream_requests_total", {**labels, "outcome": "error"})
        is None
    )
