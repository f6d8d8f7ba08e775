"""The fulfilment email's content, and the subject template checked when settings load."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from bridge.canonical import Order, OrderStatus
from bridge.orders.fulfilment_email import render_fulfilment_email
from bridge.settings import EMAIL_SUBJECT_FIELDS, AppConfig

PLACED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _order() -> Order:
    return Order(
        id=42,
        app="demo",
        customer_id="demo-user-1",
        offer_id=1,
        quantity=3,
        points=300,
        status=OrderStatus.APPROVED,
        created_at=PLACED,
        name="Electronic Giftcard",
        logo=None,
        description=None,
        offer_type="reward",
        external_id=None,
        shipping_address=None,
    )


def _render(subject: str = "Your order {order_id}: {offer_name}") -> str:
    message = render_fulfilment_email(
        _order(),
        recipient="someone@example.org",
        sender="rewards@example.test",
        subject_template=subject,
        now=PLACED,
    )
    return str(message)


def test_body_lists_the_order_details() -> None:
    text = _render()

    for line in (
        "Order: 42",
        "Reward: Electronic Giftcard",
        "Quantity: 3",
        "Points: 300",
        "Status: approved",
        "Placed: 2026-03-04 05:06:07 UTC",
    ):
        assert line in text


def test_every_allowed_subject_field_renders() -> None:
    template = " ".join(f"{{{field}}}" for field in sorted(EMAIL_SUBJECT_FIELDS))

    assert "Subject: Electronic Giftcard 42 300 3\n" in _render(template)


def test_message_id_names_the_order_and_the_sender_domain() -> None:
    assert "Message-ID: <order-42.demo@example.test>" in _render()


def test_subject_template_naming_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown field"):
        AppConfig(name="demo", api_key="k", api_secret="s", email_subject="Hi {customer_email}")
