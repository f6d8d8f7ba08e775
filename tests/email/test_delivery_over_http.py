"""Fulfilment emails end to end: orders over HTTP, the app's own sender, a real SMTP server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bridge.app import OUTBOX_SENDER
from bridge.store import tables as t
from tests.conftest import PREFIX, basic_auth
from tests.email.conftest import Inbox, wait_until
from tests.queries import value_at

Start = Callable[..., Awaitable[TestClient[Any, Any]]]


async def _place(client: TestClient[Any, Any], **order: Any) -> dict[str, Any]:
    response = await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": order}, headers=basic_auth()
    )
    body: dict[str, Any] = await response.json()
    assert body["status"] == "ok", body
    return body["order"]  # type: ignore[no-any-return]


async def _set_status(client: TestClient[Any, Any], order_id: int, status: str) -> None:
    response = await client.put(
        f"{PREFIX}/orders/{order_id}", json={"order": {"status": status}}, headers=basic_auth()
    )
    assert (await response.json())["status"] == "ok"


async def _outbox_rows(database_url: str, order_id: int) -> int:
    query = sa.select(sa.func.count()).where(t.outbox.c.order_id == order_id)
    return int(await value_at(database_url, query))


async def test_auto_approved_order_sends_one_email_with_its_details(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    order = await _place(client, quantity=2)

    await wait_until(lambda: len(inbox.messages) == 1)
    recipients, message = inbox.messages[0]
    body = message.get_payload()
    assert recipients == ["demo1@example.com"]
    assert message["Subject"] == f"Your order {order['id']}: Electronic Giftcard"
    assert message["From"] == "rewards@example.test"
    for line in (
        f"Order: {order['id']}",
        "Reward: Electronic Giftcard",
        "Quantity: 2",
        "Points: 200",
        "Status: approved",
        f"Placed: {order['created_at']} UTC",
    ):
        assert line in body


async def test_email_goes_to_the_address_given_with_the_order(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    await _place(client, email="someone.else@example.org")

    await wait_until(lambda: len(inbox.messages) == 1)
    assert inbox.messages[0][0] == ["someone.else@example.org"]


async def test_pending_order_sends_nothing_until_approved(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox, database_url: str
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    order = await _place(client, status="pending_approval")
    assert await _outbox_rows(database_url, order["id"]) == 0
    assert await client.app[OUTBOX_SENDER].deliver_due() == 0
    assert inbox.messages == []

    await _set_status(client, order["id"], "approved")

    await wait_until(lambda: len(inbox.messages) == 1)
    assert f"Order: {order['id']}" in inbox.messages[0][1].get_payload()
    assert await _outbox_rows(database_url, order["id"]) == 1


async def test_rejected_order_sends_nothing(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox, database_url: str
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    order = await _place(client, status="pending_approval")

    await _set_status(client, order["id"], "rejected")

    assert await client.app[OUTBOX_SENDER].deliver_due() == 0
    assert await _outbox_rows(database_url, order["id"]) == 0
    assert inbox.messages == []


async def test_delivery_is_counted_and_the_outbox_drained(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox, registry: CollectorRegistry
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    await _place(client)

    await wait_until(
        lambda: registry.get_sample_value("bridge_emails_total", {"result": "sent"}) == 1
    )
    assert len(inbox.messages) == 1
    await wait_until(lambda: registry.get_sample_value("bridge_outbox_depth") == 0)


async def test_committed_order_wakes_the_sender_before_its_next_poll(
    bridge_client: Start, smtp_settings: dict[str, Any], inbox: Inbox
) -> None:
    client = await bridge_client(smtp=smtp_settings, outbox_poll_seconds=3600)
    sender = client.app[OUTBOX_SENDER]
    await wait_until(lambda: sender.rounds >= 1)  # the start-up round is over; next poll in 1 h

    await _place(client)

    await wait_until(lambda: len(inbox.messages) == 1)


async def test_sender_stops_when_the_app_shuts_down(
    bridge_client: Start, smtp_settings: dict[str, Any]
) -> None:
    client = await bridge_client(smtp=smtp_settings)
    sender = client.app[OUTBOX_SENDER]
    assert sender.running

    with capture_logs() as logs:
        await client.close()

    assert not sender.running
    assert {
        "event": "outbox_sender_stopped",
        "component": "outbox_sender",
        "log_level": "info",
    } in logs


async def test_no_sender_runs_without_smtp_settings(bridge_client: Start) -> None:
    client = await bridge_client()

    assert OUTBOX_SENDER not in client.app
