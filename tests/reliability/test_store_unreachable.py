"""PostgreSQL going away while the bridge serves: `503 not_available` and `/readyz` 503.

A real PostgreSQL behind a TCP relay the test can cut: every open connection is reset and
new ones are refused, as when the database host goes down. Then the relay comes back and
so do the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, basic_auth

ORDERS = f"{PREFIX}/users/demo-user-1/orders"
CREATE = f"{PREFIX}/users/demo-user-1/offers/1/orders"


class Relay:
    """Forwards TCP connections to `target`; `cut()` drops them all and stops listening."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[Relay]:
    url = sa.make_url(database_url)
    running = Relay(url.host or "127.0.0.1", url.port or 5432)
    await running.start()
    yield running
    with contextlib.suppress(Exception):
        await running.cut()


@pytest.mark.parametrize("engine_name", ["postgresql"])
async def test_orders_answer_503_and_readiness_fails_while_postgresql_is_away(
    bridge_client: Callable[..., Any], relay: Relay, database_url: str, registry: Any
) -> None:
    through_relay = sa.make_url(database_url).set(host="127.0.0.1", port=relay.port)
    client: TestClient[Any, Any] = await bridge_client(
        database_url=through_relay.render_as_string(hide_password=False)
    )
    assert (await client.get(ORDERS, headers=basic_auth())).status == 200
    await relay.cut()
    for call in (
        client.get(ORDERS, headers=basic_auth()),
        client.get(f"{ORDERS}/1", headers=basic_auth()),
        client.post(CREATE, json={"order": {}}, headers=basic_auth()),
    ):
        answer = await call
        body = await clean_503(answer)
        assert body["errors"]["code"] == "not_available"
    assert (await client.get("/readyz")).status == 503
    await relay.start()
    assert (await client.get("/readyz")).status == 200
    assert (await client.get(ORDERS, headers=basic_auth())).status == 200


async def clean_503(answer: Any) -> dict[str, Any]:
    text = await answer.text()
    assert answer.status == 503, text
    assert "Traceback" not in text
    body: dict[str, Any] = await answer.json()
    return body
