"""Which failed writes are known not sent (dropped at once) and which may have landed (settled,
else undone): the client's classification against real sockets on port 0."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.errors import RuleError
from bridge.incentives.client import (
    CallOptions,
    UpstreamClient,
    UpstreamFailure,
    known_not_sent,
)
from bridge.incentives.config import BreakerPolicy, RetryPolicy

OPTIONS = CallOptions({}, aiohttp.ClientTimeout(total=1, sock_read=0.3))
PATH = "/offers/api/2.0/offers/rewardstores/purchase_offer"


async def write_once(url: str, breaker: BreakerPolicy | None = None) -> BaseException:
    client = UpstreamClient(url, RetryPolicy(), breaker or BreakerPolicy())
    await client.open()
    try:
        await client.post("purchase_offer", PATH, {}, OPTIONS, read=False)
    except (UpstreamFailure, RuleError) as exc:
        return exc
    finally:
        await client.close()
    raise AssertionError("the call was expected to fail")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def answering(aiohttp_server: Callable[..., Awaitable[TestServer]], handler: Any) -> str:
    app = web.Application()
    app.router.add_post(PATH, handler)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_refused_connection_is_known_not_sent() -> None:
    assert known_not_sent(await write_once(f"http://127.0.0.1:{closed_port()}"))


async def test_an_open_breaker_is_known_not_sent() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = UpstreamClient(url, RetryPolicy(), BreakerPolicy(failure_threshold=1))
    await client.open()
    try:
        for _ in range(2):
            try:
                await client.post("purchase_offer", PATH, {}, OPTIONS, read=False)
            except UpstreamFailure as exc:
                failure = exc
    finally:
        await client.close()
    assert (failure.outcome, known_not_sent(failure)) == ("circuit_open", True)


def status(code: int, body: bytes = b'{"status":"error","errors":{"code":"x"}}') -> Any:
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=code, body=body, content_type="application/json")

    return handler


async def reset(request: web.Request) -> web.Response:
    await request.read()
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


async def hang(request: web.Request) -> web.Response:
    await request.read()
    await asyncio.sleep(2)
    return web.Response()


@pytest.mark.parametrize(
    ("handler", "not_sent"),
    [
        (status(429), True),
        (status(422, b'{"status":"error","errors":{"code":"insufficient_points"}}'), True),
        (status(502), False),
        (status(503), False),
        (status(500), False),
        (status(200, b"<html>"), False),
        (reset, False),
        (hang, False),
    ],
    ids=["429", "refusal", "502", "503", "500", "invalid-body", "reset", "read-timeout"],
)
async def test_each_answer_is_classified(
    aiohttp_server: Callable[..., Awaitable[TestServer]], handler: Any, not_sent: bool
) -> None:
    """429 and refusals: the upstream did nothing. 5xx, an unreadable body, a reset or a read
    timeout after the request was written: it may have acted."""
    url = await answering(aiohttp_server, handler)

    assert known_not_sent(await write_once(url)) is not_sent
