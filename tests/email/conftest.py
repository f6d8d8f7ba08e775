"""A real SMTP server (aiosmtpd) on a loopback port, a settable clock, a bounded wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

POLL_INTERVAL = 0.02
MAX_POLLS = 500


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd's SMTP protocol served from the test's own event loop, on port 0 or a given one."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.inbox, hostname="bridge-test", loop=loop), "127.0.0.1", self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


class ManualClock:
    """A clock the test moves forward by hand (backoff without waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll `condition` a bounded number of times; fail the test if it never holds."""
    for _ in range(MAX_POLLS):
        if condition():
            return
        await asyncio.sleep(POLL_INTERVAL)
    raise AssertionError("condition never held")


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def smtp_server(inbox: Inbox) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(inbox)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def smtp_settings(smtp_server: SmtpServer) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": smtp_server.port, "sender": "rewards@example.test"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
