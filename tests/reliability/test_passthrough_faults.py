"""The legacy passthrough behind a failing legacy API: an answer or not_available, in time.

A `FaultyUpstream` proxies a real legacy stand-in. Answers legacy gives (even a 5xx) come back
unchanged, as the passthrough promises; no answer at all (reset, hang, cut body) is the legacy
`not_available` envelope within `legacy_timeout_seconds`. Writes are never resent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from tests.conftest import PREFIX, basic_auth

Start = Callable[..., Awaitable[Any]]
LEGACY_POLICY = {"apps": {"demo": {"target": "legacy"}}}
TIMEOUT = 1.0
DEADLINE = TIMEOUT + 2.0
ORDERS = "/orders"

NO_ANSWER = [
    Fault(Kind.RESET),
    Fault(Kind.HANG),
    Fault(Kind.TRUNCATED),
    Fault(Kind.SLOW_BODY, delay=0.3),
]
ANSWERED = [
    Fault(Kind.STATUS, status=500),
    Fault(Kind.STATUS, status=502),
    Fault(Kind.STATUS, status=503, retry_after="7"),
    Fault(Kind.STATUS, status=429, retry_after="7"),
    Fault(Kind.INVALID_JSON),
    Fault(Kind.LATENCY, delay=0.2, jitter=0.2),
]


@pytest.fixture
async def setup(
    legacy_server: Start, start_faulty: Start, routed_bridge: Start, aiohttp_client: Start
) -> tuple[FaultyUpstream, TestClient[Any, Any], TestClient[Any, Any]]:
    """The faulty proxy, the bridge routed through it, and a client of legacy itself."""
    legacy = await legacy_server()
    faulty: FaultyUpstream = await start_faulty(legacy)
    bridge = await routed_bridge(faulty.url, LEGACY_POLICY, legacy_timeout_seconds=TIMEOUT)
    direct = await aiohttp_client(legacy)
    return faulty, bridge, direct


async def get_orders(client: TestClient[Any, Any]) -> tuple[int, dict[str, str], bytes]:
    async with (
        asyncio.timeout(DEADLINE),
        client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth()) as answer,
    ):
        return answer.status, dict(answer.headers), await answer.read()


@pytest.mark.parametrize("fault", NO_ANSWER, ids=lambda fault: str(fault.kind))
async def test_no_answer_from_legacy_is_not_available_in_time(
    fault: Fault, setup: tuple[FaultyUpstream, TestClient[Any, Any], TestClient[Any, Any]]
) -> None:
    faulty, bridge, _ = setup
    faulty.inject(fault)

    status, _, body = await get_orders(bridge)

    assert (status, b'"code":"not_available"' in body) == (503, True)


@pytest.mark.parametrize("fault", ANSWERED, ids=lambda fault: f"{fault.kind}-{fault.status}")
async def test_an_answer_from_legacy_comes_back_unchanged(
    fault: Fault, setup: tuple[FaultyUpstream, TestClient[Any, Any], TestClient[Any, Any]]
) -> None:
    faulty, bridge, _ = setup
    faulty.inject(fault)

    status, headers, body = await get_orders(bridge)

    assert status == (fault.status if fault.kind is Kind.STATUS else 200)
    assert headers.get("Retry-After") == fault.retry_after
    if fault.kind is Kind.INVALID_JSON:
        assert body == b"<html>upstream proxy error"


@pytest.mark.parametrize("kind", [Kind.RESET, Kind.HANG, Kind.TRUNCATED])
async def test_a_create_whose_answer_is_lost_is_never_sent_twice(
    kind: Kind, setup: tuple[FaultyUpstream, TestClient[Any, Any], TestClient[Any, Any]]
) -> None:
    faulty, bridge, direct = setup
    faulty.inject(Fault(kind, path=ORDERS, after_commit=True))

    async with asyncio.timeout(DEADLINE):
        answer = await bridge.post(
            f"{PREFIX}/users/demo-user-1/offers/1/orders",
            json={"order": {}},
            headers=basic_auth(),
        )

    listed = await direct.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert answer.status == 503
    assert (faulty.tally.calls, len((await listed.json())["orders"])) == (1, 1)
