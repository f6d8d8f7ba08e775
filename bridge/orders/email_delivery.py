"""Fulfilment emails: the outbox handler that renders an order's email and sends it over SMTP."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from bridge.canonical import OrderRef
from bridge.clock import Clock
from bridge.observability.metrics import Metrics
from bridge.orders.fulfilment_email import render_fulfilment_email
from bridge.orders.outbox_sender import DeliveryError, Outcome, UndeliverableError
from bridge.settings import AppConfig, SmtpSettings
from bridge.store.ledger import Ledger
from bridge.store.outbox import OutboxMessage
from bridge.store.remote_orders import FULFILMENT_EMAIL

DEFAULT_SUBJECT = AppConfig.model_fields["email_subject"].default


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand one message to the mail system; raise when it was not accepted."""


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        smtp = self._settings
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.start_tls,
            timeout=smtp.timeout_seconds,
        )


class EmailDelivery:
    """Delivers `fulfilment_email` rows; counted in `bridge_emails_total`."""

    kind = FULFILMENT_EMAIL

    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        apps: Mapping[str, AppConfig],
        metrics: Metrics,
        clock: Clock,
        sender_address: str,
    ) -> None:
        self._ledger = ledger
        self._transport = transport
        self._apps = apps
        self._metrics = metrics
        self._clock = clock
        self._sender_address = sender_address
        self._log = structlog.get_logger(component="outbox_sender")

    async def deliver(self, message: OutboxMessage) -> None:
        recipient = ""
        try:
            recipient, email = await self._render(message)
            await self._transport.send(email)
        except UndeliverableError:
            raise
        except Exception as exc:  # SMTP down or refusing, timeout, undecryptable email: retry
            raise DeliveryError(_describe(exc, recipient)) from exc

    async def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        context = {"outbox_id": message.id, "order_id": message.order_id, "app": message.app}
        self._metrics.emails.labels(result=outcome.result).inc()
        if outcome.result == "sent":
            self._log.info("email_sent", attempts=message.attempts, **context)
        elif outcome.result == "retry":
            self._log.warning(
                "email_delivery_failed",
                attempts=message.attempts,
                error=outcome.error,
                retry_at=outcome.retry_at.isoformat() if outcome.retry_at else None,
                **context,
            )
        else:
            self._log.error(
                "email_delivery_failed",
                attempts=message.attempts,
                error=outcome.error,
                gave_up=True,
                **context,
            )

    async def _render(self, message: OutboxMessage) -> tuple[str, EmailMessage]:
        order = await self._ledger.get(message.app, OrderRef(order_id=message.order_id))
        if order is None:
            raise UndeliverableError("the order no longer exists")
        recipient = await self._ledger.email(order.id)
        if not recipient:
            raise UndeliverableError("the order has no email address")
        app = self._apps.get(message.app)
        email = render_fulfilment_email(
            order,
            recipient=recipient,
            sender=self._sender_address,
            subject_template=app.email_subject if app else DEFAULT_SUBJECT,
            now=self._clock.now(),
        )
        return recipient, email


def _describe(exc: BaseException, recipient: str) -> str:
    """The error for logs and the outbox row, with the recipient's address removed."""
    text = f"{type(exc).__name__}: {exc}"
    return text.replace(recipient, "<recipient>") if recipient else text
