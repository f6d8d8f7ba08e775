"""The Idempotency-Key on the legacy target: a keyed write reaches legacy at most once.

A real legacy stand-in sits behind the fault-injecting proxy (tests/reliability), and the
bridge routes the demo app to it. Every test counts what reached legacy (the proxy's tally)
and what legacy holds (its own order list), on the bridge's store on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.legacy.keyed_passthrough import Outcome, outcome_of
from bridge.orders.idempotency import WriteRequest
from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from bridge.store.executor import open_database
from bridge.store.idempotency import IdempotencyStore, KeyClaim
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import NOW, ServerFactory, base_url, echo_app

pytestmark = pytest.mark.both_engines

Start = Callable[..., Awaitable[Any]]
LEGACY_POLICY = {"apps": {"demo": {"target": "legacy"}}}
CREATE = "users/demo-user-1/offers/1/orders"
ORDER = b'{"order":{"quantity":1}}'
TIMEOUT = 2.0
HOUR = timedelta(hours=1)
FALLS_BACK = {"points_live_locally": True, "on_unavailable": {"fallback": "local"}}
WAIT = 5.0
"""How long a duplicate waits for the request holding its key (longer than any forward)."""


@dataclass
class Stack:
    faulty: FaultyUpstream
    bridge: TestClient[Any, Any]
    legacy: TestClient[Any, Any]

    async def forwarded(self) -> int:
        """Calls that reached the proxy in front of legacy (each one may have placed)."""
        return sum(n for path, n in self.faulty.tally.by_path.items() if "/offers/" in path)

    async def orders_on_legacy(self) -> int:
        answer = await self.legacy.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
        return len((await answer.json())["orders"])


async def post(
    client: TestClient[Any, Any], key: str | None, body: bytes = ORDER, path: str = CREATE
) -> tuple[int, dict[str, str], bytes]:
    headers = {**basic_auth(), "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    async with (
        asyncio.timeout(TIMEOUT + 5),
        client.post(f"{PREFIX}/{path}", data=body, headers=headers) as answer,
    ):
        return answer.status, dict(answer.headers), await answer.read()


async def start_proxy(aiohttp_server: Start, target: TestServer, port: int | None = None) -> Any:
    faulty = FaultyUpstream(base_url(target))
    server = await aiohttp_server(faulty.app(), **({"port": port} if port else {}))
    faulty.url = base_url(server)
    return faulty


@pytest.fixture
async def stack(
    legacy_server: ServerFactory,
    routed_bridge: Start,
    aiohttp_server: Start,
    aiohttp_client: Start,
    database_url: str,
) -> Stack:
    """legacy stand-in <- faulty proxy <- bridge (its store on the test's engine)."""
    legacy = await legacy_server()
    faulty = await start_proxy(aiohttp_server, legacy)
    bridge = await routed_bridge(
        faulty.url,
        LEGACY_POLICY,
        database_url=database_url,
        legacy_timeout_seconds=TIMEOUT,
        idempotency_wait_seconds=WAIT,
    )
    return Stack(faulty, bridge, await aiohttp_client(legacy))


LOST = [
    Fault(Kind.HANG, path="/orders", after_commit=True),
    Fault(Kind.RESET, path="/orders", after_commit=True),
    Fault(Kind.TRUNCATED, path="/orders", after_commit=True),
    Fault(Kind.STATUS, path="/orders", status=502, after_commit=True),
    Fault(Kind.INVALID_JSON, path="/orders", after_commit=True),
]


@pytest.mark.parametrize("fault", LOST, ids=lambda fault: f"{fault.kind}-{fault.status}")
async def test_a_retry_after_a_lost_answer_places_no_second_order(
    fault: Fault, stack: Stack
) -> None:
    stack.faulty.inject(fault)
    first = await post(stack.bridge, "k-lost")
    stack.faulty.inject()  # legacy is healthy again; the retry still must not forward
    again = await post(stack.bridge, "k-lost")

    assert (first[0], b'"code":"not_available"' in first[2]) == (503, True)
    assert (again[0], again[2], again[1].get("Idempotent-Replayed")) == (503, first[2], "true")
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (1, 1)


async def test_an_unknown_outcome_before_commit_is_not_guessed(stack: Stack) -> None:
    stack.faulty.inject(Fault(Kind.STATUS, path="/orders", status=503))
    first = await post(stack.bridge, "k-503")
    stack.faulty.inject()
    again = await post(stack.bridge, "k-503")

    assert (first[0], again[2]) == (503, first[2])
    assert b"unknown" in first[2]
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (1, 0)


async def test_a_known_answer_is_replayed_byte_for_byte(stack: Stack) -> None:
    first = await post(stack.bridge, "k-ok")
    again = await post(stack.bridge, "k-ok")

    assert (first[0], b'"status":"ok"' in first[2]) == (200, True)
    assert (again[0], again[2], again[1].get("Idempotent-Replayed")) == (200, first[2], "true")
    assert "Idempotent-Replayed" not in first[1]
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (1, 1)


async def test_a_legacy_refusal_is_kept_like_any_answer(stack: Stack) -> None:
    path = "users/demo-user-1/offers/4/orders"  # a retired offer: offer_not_available
    first = await post(stack.bridge, "k-refused", path=path)
    again = await post(stack.bridge, "k-refused", path=path)

    assert b'"code":"offer_not_available"' in first[2]
    assert (again[0], again[2]) == (first[0], first[2])
    assert await stack.forwarded() == 1


async def test_the_same_key_for_another_request_is_refused(stack: Stack) -> None:
    await post(stack.bridge, "k-other")
    status, _, body = await post(stack.bridge, "k-other", body=b'{"order":{"quantity":2}}')

    assert (status, orjson.loads(body)["errors"]["code"]) == (200, "validation")
    assert await stack.forwarded() == 1


async def test_a_different_query_string_is_another_request(stack: Stack) -> None:
    await post(stack.bridge, "k-query")
    _, _, body = await post(stack.bridge, "k-query", path=f"{CREATE}?order[quantity]=2")

    assert orjson.loads(body)["errors"]["code"] == "validation"


async def test_json_key_order_and_spacing_are_the_same_request(stack: Stack) -> None:
    first = await post(stack.bridge, "k-json", body=b'{"order": {"quantity": 1}}')
    again = await post(stack.bridge, "k-json", body=b'{ "order":{"quantity":1} }')

    assert (again[2], await stack.forwarded()) == (first[2], 1)


async def test_a_body_that_is_not_json_is_held_by_its_bytes(stack: Stack) -> None:
    first = await post(stack.bridge, "k-raw", body=b"order[quantity]=1")
    same = await post(stack.bridge, "k-raw", body=b"order[quantity]=1")
    other = await post(stack.bridge, "k-raw", body=b"order[quantity]=2")

    assert (same[2], await stack.forwarded()) == (first[2], 1)
    assert orjson.loads(other[2])["errors"]["code"] == "validation"


async def test_concurrent_requests_with_one_key_forward_once(stack: Stack) -> None:
    stack.faulty.inject(Fault(Kind.LATENCY, path="/orders", delay=0.3))
    answers = await asyncio.gather(*(post(stack.bridge, "k-race") for _ in range(8)))

    assert {(status, body) for status, _, body in answers} == {(200, answers[0][2])}
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (1, 1)


async def test_a_request_legacy_did_not_run_frees_the_key(stack: Stack) -> None:
    stack.faulty.inject(Fault(Kind.STATUS, path="/orders", status=429, retry_after="1", times=1))
    first = await post(stack.bridge, "k-429")
    again = await post(stack.bridge, "k-429")

    assert (first[0], first[1].get("Retry-After")) == (429, "1")
    assert (again[0], "Idempotent-Replayed" in again[1]) == (200, False)
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (2, 1)


async def test_a_malformed_key_is_refused_before_anything_is_sent(stack: Stack) -> None:
    status, _, body = await post(stack.bridge, "bad key")

    assert (status, orjson.loads(body)["errors"]["code"]) == (200, "argument_error")
    assert await stack.forwarded() == 0


async def test_a_key_on_a_read_is_ignored(stack: Stack) -> None:
    headers = {**basic_auth(), "Idempotency-Key": "k-read"}
    for _ in range(2):
        answer = await stack.bridge.get(f"{PREFIX}/users/demo-user-1/orders", headers=headers)
        assert "Idempotent-Replayed" not in answer.headers
    assert stack.faulty.tally.calls == 2


async def test_a_refused_connection_frees_the_key(
    legacy_server: ServerFactory,
    routed_bridge: Start,
    aiohttp_server: Start,
    aiohttp_client: Start,
    database_url: str,
    unused_tcp_port: int,
) -> None:
    bridge = await routed_bridge(
        f"http://127.0.0.1:{unused_tcp_port}", LEGACY_POLICY, database_url=database_url
    )
    first = await post(bridge, "k-refused-conn")
    legacy = await legacy_server()
    faulty = await start_proxy(aiohttp_server, legacy, port=unused_tcp_port)
    again = await post(bridge, "k-refused-conn")

    assert (first[0], b'"code":"not_available"' in first[2]) == (503, True)
    assert (again[0], "Idempotent-Replayed" in again[1]) == (200, False)
    assert await Stack(faulty, bridge, await aiohttp_client(legacy)).orders_on_legacy() == 1


async def test_a_claim_left_by_a_dead_request_settles_as_unknown(
    stack: Stack, routed_bridge: Start, database_url: str
) -> None:
    write = WriteRequest(
        "create_order",
        "POST",
        "/priv/v1/apps/{api_key}/users/{user_id}/offers/{offer_id}/orders",
        {"user_id": "demo-user-1", "offer_id": "1"},
        orjson.loads(ORDER),
    )
    engine = open_database(database_url)
    try:
        started = NOW - HOUR  # far longer ago than any forward can last
        claim = KeyClaim("demo", "k-dead", write.fingerprint(), "create_order", started, NOW + HOUR)
        await IdempotencyStore(engine).claim(claim)
    finally:
        await engine.close()
    replica = await routed_bridge(
        stack.faulty.url, LEGACY_POLICY, database_url=database_url, idempotency_wait_seconds=0.1
    )
    status, _, body = await post(replica, "k-dead")
    again = await post(replica, "k-dead")

    assert (status, b"unknown" in body) == (503, True)
    assert (again[2], await stack.forwarded()) == (body, 0)


async def test_a_claim_still_being_forwarded_is_not_settled(
    stack: Stack, routed_bridge: Start, database_url: str
) -> None:
    stack.faulty.inject(Fault(Kind.LATENCY, path="/orders", delay=1.0))
    replica = await routed_bridge(
        stack.faulty.url, LEGACY_POLICY, database_url=database_url, idempotency_wait_seconds=0.1
    )
    first = asyncio.ensure_future(post(stack.bridge, "k-slow"))
    await stack.faulty.until_in_flight(1)
    status, _, body = await post(replica, "k-slow")

    assert (status, b"still in progress" in body) == (503, True)
    assert ((await first)[0], await stack.forwarded()) == (200, 1)


async def test_the_key_header_is_not_sent_to_legacy(
    aiohttp_server: Start, routed_bridge: Start, database_url: str
) -> None:
    seen: list[web.Request] = []
    body = b'{"status":"ok","order":{"id":1}}'
    upstream = await aiohttp_server(echo_app(seen, body, "application/json"))
    bridge = await routed_bridge(base_url(upstream), LEGACY_POLICY, database_url=database_url)
    await post(bridge, "k-header")

    (received,) = seen
    assert "Idempotency-Key" not in received.headers


async def test_a_lost_write_without_a_key_never_falls_back(
    stack: Stack, routed_bridge: Start
) -> None:
    policy = {"apps": {"demo": {**FALLS_BACK, "target": "legacy"}}}
    stack.faulty.inject(Fault(Kind.RESET, path="/orders", after_commit=True))
    bridge = await routed_bridge(stack.faulty.url, policy, legacy_timeout_seconds=TIMEOUT)
    status, _, body = await post(bridge, None)

    assert (status, b"may have been carried out" in body) == (503, True)
    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (1, 1)


@pytest.mark.parametrize("key", ["k-put", None])
async def test_a_status_update_whose_answer_is_lost_is_sent_once(
    key: str | None, stack: Stack
) -> None:
    await post(stack.bridge, None, body=b'{"order":{"status":"pending_approval"}}')
    stack.faulty.inject(Fault(Kind.RESET, path="/orders/1", after_commit=True))
    headers = {**basic_auth(), "Content-Type": "application/json"}
    headers.update({"Idempotency-Key": key} if key is not None else {})
    body = b'{"order":{"status":"rejected"}}'
    async with stack.bridge.put(f"{PREFIX}/orders/1", data=body, headers=headers) as answer:
        assert answer.status == 503
    assert stack.faulty.tally.by_path[f"{PREFIX}/orders/1"] == 1


async def test_a_keyed_write_legacy_never_got_may_fall_back(
    routed_bridge: Start, unused_tcp_port: int
) -> None:
    policy = {"apps": {"demo": {**FALLS_BACK, "target": "legacy"}}}
    bridge = await routed_bridge(f"http://127.0.0.1:{unused_tcp_port}", policy)  # demo data
    first = await post(bridge, "k-fallback")
    again = await post(bridge, "k-fallback")

    assert (first[0], orjson.loads(first[2])["order"]["points"]) == (200, 100)
    assert (again[2], again[1].get("Idempotent-Replayed")) == (first[2], "true")


ENVELOPE = b'{"status":"error","errors":{"code":"not_found","message":"x"}}'


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status":"ok","order":{}}', Outcome.KNOWN),
        (404, ENVELOPE, Outcome.KNOWN),
        (401, ENVELOPE, Outcome.KNOWN),
        (500, ENVELOPE, Outcome.UNKNOWN),
        (504, b"", Outcome.UNKNOWN),
        (200, b"<html>proxy</html>", Outcome.UNKNOWN),
        (204, b"", Outcome.UNKNOWN),
        (200, b'["status","ok"]', Outcome.UNKNOWN),
        (301, b"", Outcome.NOT_RUN),
        (429, ENVELOPE, Outcome.NOT_RUN),
        (408, b"", Outcome.NOT_RUN),
        (413, b"<html>too large</html>", Outcome.NOT_RUN),
    ],
)
def test_what_an_answer_tells_about_a_write(status: int, body: bytes, expected: Outcome) -> None:
    assert outcome_of(status, body) is expected
