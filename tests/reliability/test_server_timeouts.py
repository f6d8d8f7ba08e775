"""`serve`'s connections are timed, and aiohttp's own refusals answer the legacy envelope.

The app runs under `bridge.runtime.serving.runner_for` (what `orders-bridge serve` uses) on a real
port; the clients are raw sockets, so that they can stay silent, trickle, or send bytes no
HTTP client would. Timeouts are set to fractions of a second; a test waits for the server
to close the socket, bounded by a generous limit, and never measures a duration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.runtime.serving import runner_for
from bridge.settings import Settings
from tests.conftest import PREFIX, basic_auth

SHORT = 0.3
LIMIT = 20.0
"""Seconds a test waits for the server's close before it fails (not a measured bound)."""
LIST = f"GET {PREFIX}/users/demo-user-1/orders HTTP/1.1\r\nHost: x\r\n".encode()
AUTH = b"Authorization: " + basic_auth()["Authorization"].encode() + b"\r\n"

Port = Callable[..., Awaitable[int]]


@pytest.fixture
async def serve_port(
    make_settings: Callable[..., Settings], demo_data: None
) -> AsyncIterator[Port]:
    runners: list[web.AppRunner] = []

    async def start(**overrides: Any) -> int:
        timeouts = {
            "header_timeout_seconds": SHORT,
            "keepalive_timeout_seconds": SHORT,
            "body_timeout_seconds": SHORT,
        }
        settings = make_settings(**(timeouts | overrides))
        runner = runner_for(create_app(settings, registry=CollectorRegistry()), settings)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = runner.addresses[0][1]
        return port

    yield start
    for runner in runners:
        await runner.cleanup()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), LIMIT)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def test_a_silent_connection_is_closed(serve_port: Port) -> None:
    reader, writer = await connect(await serve_port(keepalive_timeout_seconds=60))
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_headers_trickling_in_are_cut_off(serve_port: Port) -> None:
    reader, writer = await connect(await serve_port(keepalive_timeout_seconds=60))
    read = asyncio.ensure_future(closed_by_server(reader))
    for byte in LIST:
        if read.done() or writer.is_closing():
            break
        writer.write(bytes([byte]))
        await asyncio.sleep(SHORT / 4)
    assert await read == b""
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed(serve_port: Port) -> None:
    reader, writer = await connect(await serve_port(header_timeout_seconds=60))
    writer.write(LIST + AUTH + b"\r\n")
    answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_body_that_does_not_arrive_answers_408_and_closes(serve_port: Port) -> None:
    reader, writer = await connect(await serve_port(keepalive_timeout_seconds=60))
    writer.write(
        f"POST {PREFIX}/users/demo-user-1/offers/1/orders HTTP/1.1\r\nHost: x\r\n".encode()
        + AUTH
        + b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"order"'
    )
    answer = await closed_by_server(reader)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert orjson.loads(body)["errors"]["code"] == "argument_error"
    writer.close()


REFUSED_BY_AIOHTTP = [
    LIST + b"Authorization: Basic ZGVtbw\x01==\r\n\r\n",  # a control character
    LIST + b"X-Anything: a\x00b\r\n\r\n",
    b"GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    b"NOT-HTTP\r\n\r\n",
    LIST + b"Content-Encoding: br\r\nContent-Length: 2\r\n\r\n{}",
    LIST + b"Content-Encoding: zstd\r\nContent-Length: 2\r\n\r\n{}",
    LIST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
    LIST + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
]


@pytest.mark.parametrize("request_bytes", REFUSED_BY_AIOHTTP, ids=range(len(REFUSED_BY_AIOHTTP)))
async def test_what_aiohttp_refuses_is_answered_in_the_envelope_without_an_echo(
    serve_port: Port, request_bytes: bytes
) -> None:
    reader, writer = await connect(await serve_port())
    writer.write(request_bytes)
    answer = await closed_by_server(reader)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert 400 <= status < 500, answer[:300]
    assert orjson.loads(body)["errors"]["code"] == "argument_error"
    assert b"ZGVtbw" not in body
    writer.close()


CREATE = f"POST {PREFIX}/users/demo-user-1/offers/1/orders HTTP/1.1\r\nHost: x\r\n".encode()
EXPECTATIONS = [b"a\tb", b"\xc3\xa9", b"\xff\xfe", b"100-continue-x", b"202-accepted"]
"""`Expect` values other than 100-continue: aiohttp's own expect handler runs before the
app's middlewares and answered a plain-text 417 echoing the value (a 500 when the value is
not UTF-8), on every route and on unknown ones."""


@pytest.mark.parametrize("value", EXPECTATIONS)
@pytest.mark.parametrize("path", [f"{PREFIX}/users/demo-user-1/orders", "/_bridge/", "/nowhere"])
async def test_an_unknown_expectation_is_refused_in_the_envelope_without_an_echo(
    serve_port: Port, value: bytes, path: str
) -> None:
    reader, writer = await connect(await serve_port())
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + AUTH)
        writer.write(b"Expect: " + value + b"\r\n\r\n")
        answer = await closed_by_server(reader)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 417"), answer[:300]
    assert orjson.loads(body)["errors"]["code"] == "argument_error"
    assert value not in body


async def test_expect_100_continue_still_gets_the_body(serve_port: Port) -> None:
    body = b'{"order": {"quantity": 1}}'
    head = CREATE + AUTH + b"Content-Type: application/json\r\nExpect: 100-Continue\r\n"
    reader, writer = await connect(await serve_port())
    try:
        writer.write(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        interim = await reader.readuntil(b"\r\n\r\n")
        writer.write(body)
        answer = await closed_by_server(reader)
    finally:
        writer.close()
    assert interim.startswith(b"HTTP/1.1 100")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["status"] == "ok"


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
async def test_a_body_that_stops_decoding_is_refused_without_a_logged_traceback(
    serve_port: Port, caplog: pytest.LogCaptureFixture, encoding: bytes
) -> None:
    """The refusal was right (400 envelope), but aiohttp then drained the rest of the body,
    met the decoding error again and logged "Unhandled exception" with a plain-text trace."""
    body = b'{"order": {"quantity": 1}}' * 50
    head = CREATE + AUTH + b"Content-Type: application/json\r\nContent-Encoding: " + encoding
    reader, writer = await connect(await serve_port())
    try:
        writer.write(head + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = await closed_by_server(reader)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["errors"]["code"] == "argument_error"
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
