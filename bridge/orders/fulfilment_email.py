"""The fulfilment email a customer receives once their order is approved (plain text).

The subject is the app's `email_subject` template (fields checked when settings load); the
Message-ID is derived from the order, so a mail system can recognise a rare re-delivery.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from bridge.canonical import Order

BODY = """Hello,

Thank you for your order. Here are its details.

Order: {order_id}
Reward: {offer_name}
Quantity: {quantity}
Points: {points}
Status: {status}
Placed: {created_at} UTC
"""


def subject_fields(order: Order) -> dict[str, object]:
    """The values a subject template may use (bridge.settings.EMAIL_SUBJECT_FIELDS)."""
    return {
        "order_id": order.id,
        "offer_name": order.name,
        "quantity": order.quantity,
        "points": order.points,
    }


def render_fulfilment_email(
    order: Order, *, recipient: str, sender: str, subject_template: str, now: datetime
) -> EmailMessage:
    fields = subject_fields(order)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject_template.format(**fields)
    message["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2] or "orders-bridge"
    message["Message-ID"] = f"<order-{order.id}.{order.app}@{domain}>"
    message.set_content(
        BODY.format(
            **fields,
            status=order.status.value,
            created_at=order.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    )
    return message
