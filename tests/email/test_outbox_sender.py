"""The outbox sender against a real SMTP server and a real database, driven round by round.

`deliver_due()` is one delivery round; a settable clock stands in for waiting out backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bridge.app import create_app
from bridge.crypto import EmailCipher
from bridge.observability.metrics import Metrics
from bridge.orders.email_delivery import EmailDelivery, SmtpTransport
from bridge.orders.outbox_sender import OutboxSender, SenderPolicy
from bridge.settings import Settings, SmtpSettings, read_apps_file
from bridge.store import tables as t
from bridge.store.executor import open_database
from bridge.store.ledger import Ledger
from bridge.store.outbox import Outbox
from bridge.store.rows import utc
from tests.conftest import DEMO_APPS, PREFIX, ClientFactory, basic_auth
from tests.email.conftest import Inbox, ManualClock, SmtpServer
from tests.queries import rows_at

pytestmark = pytest.mark.both_engines

SENDER = "rewards@example.test"
CUSTOMER_EMAIL = "demo1@example.com"
BuildSender = Callable[..., OutboxSender]


@pytest.fixture
async def build_sender(
    database_url: str, email_key: str, clock: ManualClock, smtp_server: SmtpServer
) -> AsyncIterator[BuildSender]:
    """Senders on their own engines (as separate replicas would be) and their own metrics."""
    engines = []

    def build(max_attempts: int = 8, metrics: Metrics | None = None) -> OutboxSender:
        engine = open_database(database_url)
        engines.append(engine)
        metrics = metrics or Metrics(CollectorRegistry())
        emails = EmailDelivery(
            Ledger(engine, EmailCipher([email_key])),
            SmtpTransport(SmtpSettings(host="127.0.0.1", port=smtp_server.port, sender=SENDER)),
            {app.name: app for app in read_apps_file(DEMO_APPS)},
            metrics,
            clock,
            SENDER,
        )
        return OutboxSender(
            Outbox(engine),
            [emails],
            metrics,
            clock,
            SenderPolicy(max_attempts=max_attempts, poll_seconds=60),
        )

    yield build
    for engine in engines:
        await engine.close()


@pytest.fixture
async def queue_orders(
    aiohttp_client: ClientFactory,
    make_settings: Callable[..., Settings],
    demo_data: None,
    clock: ManualClock,
) -> Callable[[int], Awaitable[list[int]]]:
    """Place auto-approved orders through a bridge that has no SMTP (so nothing sends them)."""
    app = create_app(make_settings(), registry=CollectorRegistry(), clock=clock)
    client = await aiohttp_client(app)

    async def place(count: int) -> list[int]:
        ids = []
        for _ in range(count):
            response = await client.post(
                f"{PREFIX}/users/demo-user-1/offers/1/orders",
                json={"order": {}},
                headers=basic_auth(),
            )
            ids.append((await response.json())["order"]["id"])
        return ids

    return place


async def _outbox_row(database_url: str) -> Any:
    (row,) = await rows_at(database_url, sa.select(t.outbox))
    return row


async def test_smtp_down_keeps_the_message_pending_with_the_failed_attempt(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    smtp_server: SmtpServer,
    database_url: str,
    clock: ManualClock,
) -> None:
    await queue_orders(1)
    await smtp_server.stop()
    registry = CollectorRegistry()

    assert await build_sender(metrics=Metrics(registry)).deliver_due() == 1

    row = await _outbox_row(database_url)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("SMTPConnect")
    assert utc(row.next_attempt_at) > clock.now()
    assert registry.get_sample_value("bridge_emails_total", {"result": "retry"}) == 1
    assert registry.get_sample_value("bridge_outbox_depth") == 1


async def test_failed_message_waits_for_its_backoff(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    smtp_server: SmtpServer,
) -> None:
    await queue_orders(1)
    await smtp_server.stop()
    sender = build_sender()
    await sender.deliver_due()

    assert await sender.deliver_due() == 0


async def test_message_is_delivered_exactly_once_when_smtp_comes_back(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    smtp_server: SmtpServer,
    inbox: Inbox,
    clock: ManualClock,
    database_url: str,
) -> None:
    await queue_orders(1)
    await smtp_server.stop()
    sender = build_sender()
    await sender.deliver_due()

    await smtp_server.start()  # same port as before
    clock.advance(3600)
    assert await sender.deliver_due() == 1
    assert await sender.deliver_due() == 0

    assert [recipients for recipients, _ in inbox.messages] == [[CUSTOMER_EMAIL]]
    row = await _outbox_row(database_url)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_sender_gives_up_after_max_attempts(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    smtp_server: SmtpServer,
    clock: ManualClock,
    database_url: str,
) -> None:
    await queue_orders(1)
    await smtp_server.stop()
    registry = CollectorRegistry()
    sender = build_sender(max_attempts=2, metrics=Metrics(registry))
    await sender.deliver_due()
    clock.advance(3600)

    with capture_logs() as logs:
        await sender.deliver_due()

    row = await _outbox_row(database_url)
    assert (row.status, row.attempts) == ("failed", 2)
    assert registry.get_sample_value("bridge_emails_total", {"result": "failed"}) == 1
    assert registry.get_sample_value("bridge_outbox_depth") == 0
    assert [(log["event"], log.get("gave_up")) for log in logs] == [("email_delivery_failed", True)]
    clock.advance(3600)
    assert await sender.deliver_due() == 0


async def test_failed_delivery_keeps_the_address_out_of_logs_and_the_outbox(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    inbox: Inbox,
    database_url: str,
) -> None:
    async def refuse(
        _server: SMTP, _session: Session, _envelope: Envelope, address: str, _options: Any
    ) -> str:
        return f"550 no mailbox for {address}"

    inbox.handle_RCPT = refuse  # type: ignore[attr-defined]
    await queue_orders(1)

    with capture_logs() as logs:
        await build_sender().deliver_due()

    row = await _outbox_row(database_url)
    assert row.last_error.startswith("SMTPRecipientsRefused")
    assert CUSTOMER_EMAIL not in row.last_error
    assert logs[0]["event"] == "email_delivery_failed"
    assert CUSTOMER_EMAIL not in repr(logs)


async def test_two_senders_on_one_database_never_deliver_a_message_twice(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    inbox: Inbox,
) -> None:
    order_ids = await queue_orders(20)
    first, second = build_sender(), build_sender()

    settled = await asyncio.gather(first.deliver_due(), second.deliver_due())

    assert sum(settled) == 20
    delivered = sorted(
        int(message["Message-ID"].split(".")[0][7:]) for _, message in inbox.messages
    )
    assert delivered == sorted(order_ids)


async def test_claim_of_a_sender_that_died_expires_and_another_delivers(
    build_sender: BuildSender,
    queue_orders: Callable[[int], Awaitable[list[int]]],
    inbox: Inbox,
    clock: ManualClock,
    database_url: str,
) -> None:
    await queue_orders(1)
    engine = open_database(database_url)
    try:
        claimed_until = clock.now().replace(microsecond=0)
        dead = await Outbox(engine).claim(clock.now(), claimed_until.replace(year=2999))
    finally:
        await engine.close()
    assert dead is not None
    survivor = build_sender()
    assert await survivor.deliver_due() == 0

    clock.advance(365 * 24 * 3600 * 1000)

    assert await survivor.deliver_due() == 1
    assert len(inbox.messages) == 1


async def test_delivery_is_logged_without_the_address(
    build_sender: BuildSender, queue_orders: Callable[[int], Awaitable[list[int]]]
) -> None:
    [order_id] = await queue_orders(1)

    with capture_logs() as logs:
        await build_sender().deliver_due()

    assert [(log["event"], log["order_id"], log["attempts"]) for log in logs] == [
        ("email_sent", order_id, 1)
    ]
    assert CUSTOMER_EMAIL not in repr(logs)
