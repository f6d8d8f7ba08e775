"""The outbox sender: delivers queued fulfilment emails over SMTP, retrying with backoff.

The database row is the truth: the sender claims one due message at a time (so replicas on
one database never deliver a message twice), renders it from the order, sends it, and settles
the row as sent, due again later (`outbox.backoff`), or failed after `max_attempts`. It polls
every `poll_seconds`; setting its wake-up event (the local engine does, once an order's
transaction has committed an outbox row) makes it look at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from bridge.canonical import OrderRef
from bridge.clock import Clock
from bridge.observability.metrics import Metrics
from bridge.orders.fulfilment_email import render_fulfilment_email
from bridge.settings import AppConfig, SmtpSettings
from bridge.store.ledger import Ledger
from bridge.store.outbox import Outbox, OutboxMessage, backoff

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


class UndeliverableError(Exception):
    """The message can never be delivered (no order, no recipient): give up at once."""


@dataclass(frozen=True)
class SenderPolicy:
    sender_address: str
    max_attempts: int
    poll_seconds: float
    claim_seconds: float = 300.0
    """How long a claim lasts; a sender that dies mid-delivery frees the row after this."""
    stop_seconds: float = 30.0
    """How long shutdown waits for the message in hand before cancelling the sender."""


class OutboxSender:
    def __init__(
        self,
        outbox: Outbox,
        ledger: Ledger,
        transport: Transport,
        apps: Mapping[str, AppConfig],
        metrics: Metrics,
        clock: Clock,
        policy: SenderPolicy,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        self._outbox = outbox
        self._ledger = ledger
        self._transport = transport
        self._apps = apps
        self._metrics = metrics
        self._clock = clock
        self._policy = policy
        self._wakeup = wakeup if wakeup is not None else asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        """Delivery rounds the background loop has completed (for tests and debugging)."""
        self._log = structlog.get_logger(component="outbox_sender")

    def wake(self) -> None:
        """Look for due messages now rather than at the next poll."""
        self._wakeup.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Finish the message in hand, then stop; cancel if that takes too long."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self._policy.stop_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def deliver_due(self) -> int:
        """Deliver (or settle) every message due now; returns how many were settled."""
        settled = 0
        while not self._stopping:
            now = self._clock.now()
            claim_until = now + timedelta(seconds=self._policy.claim_seconds)
            message = await self._outbox.claim(now, claim_until)
            if message is None:
                break
            await self._deliver(message)
            settled += 1
        self._metrics.outbox_depth.set(await self._outbox.depth())
        return settled

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self.deliver_due()
            except Exception as exc:  # the store may be briefly unavailable: log, poll again
                self._log.warning("outbox_poll_failed", error=type(exc).__name__)
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._policy.poll_seconds)
        self._log.info("outbox_sender_stopped")

    async def _deliver(self, message: OutboxMessage) -> None:
        context = {"outbox_id": message.id, "order_id": message.order_id, "app": message.app}
        recipient = ""
        try:
            recipient, email = await self._render(message)
            await self._transport.send(email)
        except UndeliverableError as exc:
            await self._give_up(message, str(exc), context)
            return
        except Exception as exc:  # SMTP down or refusing, timeout, undecryptable email: retry
            await self._record_failure(message, _describe(exc, recipient), context)
            return
        await self._outbox.mark_sent(message, self._clock.now())
        self._metrics.emails.labels(result="sent").inc()
        self._log.info("email_sent", attempts=message.attempts, **context)

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
            sender=self._policy.sender_address,
            subject_template=app.email_subject if app else DEFAULT_SUBJECT,
            now=self._clock.now(),
        )
        return recipient, email

    async def _record_failure(
        self, message: OutboxMessage, error: str, context: dict[str, object]
    ) -> None:
        if message.attempts >= self._policy.max_attempts:
            await self._give_up(message, error, context)
            return
        retry_at = backoff(message.attempts, self._clock.now())
        await self._outbox.mark_failed_attempt(message, error, retry_at)
        self._metrics.emails.labels(result="retry").inc()
        self._log.warning(
            "email_delivery_failed",
            attempts=message.attempts,
            error=error,
            retry_at=retry_at.isoformat(),
            **context,
        )

    async def _give_up(
        self, message: OutboxMessage, error: str, context: dict[str, object]
    ) -> None:
        await self._outbox.mark_failed_attempt(message, error, None)
        self._metrics.emails.labels(result="failed").inc()
        self._log.error(
            "email_delivery_failed", attempts=message.attempts, error=error, gave_up=True, **context
        )


def _describe(exc: BaseException, recipient: str) -> str:
    """The error for logs and the outbox row, with the recipient's address removed."""
    text = f"{type(exc).__name__}: {exc}"
    return text.replace(recipient, "<recipient>") if recipient else text
