"""The fault proxy's own control route, as a person uses it in `make rehearse`: faults set
with `PUT /_faults` act on the next call, `[]` heals, and a bad body changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.sandbox.faults import FaultyUpstream

Start = Callable[[TestServer], Awaitable[FaultyUpstream]]
PATH = "/offers/api/2.0/offers/get_user_offers"


async def call(session: aiohttp.ClientSession, method: str, url: str, body: bytes = b"") -> Any:
    async with session.request(method, url, data=body) as response:
        return response.status, await response.read()


async def test_faults_set_over_http_act_on_the_next_call_and_an_empty_list_heals(
    sandbox: TestServer, start_faulty: Start
) -> None:
    proxy = await start_faulty(sandbox)
    async with aiohttp.ClientSession() as session:
        healthy, _ = await call(session, "POST", proxy.url + PATH)
        status, body = await call(
            session, "PUT", proxy.url + "/_faults", b'[{"kind": "status", "status": 503}]'
        )
        assert (status, body.count(b'"status": 503')) == (200, 1)
        failing, _ = await call(session, "POST", proxy.url + PATH)
        assert (await call(session, "GET", proxy.url + "/_faults"))[1] == body
        assert await call(session, "PUT", proxy.url + "/_faults", b"[]") == (200, b"[]")
        healed, _ = await call(session, "POST", proxy.url + PATH)

    assert (healthy, failing, healed) == (healthy, 503, healthy)
    assert healthy != 503
    assert proxy.tally.calls == 3  # the control route is never forwarded nor counted


async def test_a_bad_body_is_refused_and_changes_nothing(
    sandbox: TestServer, start_faulty: Start
) -> None:
    proxy = await start_faulty(sandbox)
    async with aiohttp.ClientSession() as session:
        await call(session, "PUT", proxy.url + "/_faults", b'[{"kind": "reset"}]')
        for bad in (b"{", b"{}", b'[{"kind": "boom"}]', b'[{"kind": "status", "status": "x"}]'):
            status, body = await call(session, "PUT", proxy.url + "/_faults", bad)
            assert (status, body[:9]) == (400, b'{"error":'), bad
    assert [fault.kind.value for fault in proxy.faults] == ["reset"]
