"""The outbox sender: carries out queued work (emails, upstream fulfilments), retrying with backoff.

The database row is the truth: the sender claims one due message at a time (so replicas on
one database never deliver a message twice), hands it to the handler for its `kind` (a small
dispatcher: `EmailDelivery` for fulfilment emails, `RedemptionDelivery` for `manual_redeem`),
and settles the row as sent, due again later (`outbox.backoff`), or failed after
`max_attempts` (at once when the handler says the work can never succeed). The handler counts
and logs each outcome, and does what giving up means for its kind. The sender polls every
`poll_seconds`; setting its wake-up event (the local engine does, once an order's transaction
has committed an outbox row) makes it look at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

import structlog

from bridge.clock import Clock
from bridge.observability.metrics import Metrics
from bridge.store.outbox import Outbox, OutboxMessage, backoff


class UndeliverableError(Exception):
    """The work can never succeed (no order, no recipient, a permanent refusal): give up now."""


class DeliveryError(Exception):
    """A failed attempt whose message is already fit for logs (e.g. personal data removed)."""


@dataclass(frozen=True)
class Outcome:
    """How one claim of a message ended."""

    result: Literal["sent", "retry", "failed"]
    error: str | None = None
    retry_at: datetime | None = None


class Handler(Protocol):
    """Carries out one kind of outbox message."""

    @property
    def kind(self) -> str:
        """The outbox `kind` this handler carries out."""

    async def deliver(self, message: OutboxMessage) -> None:
        """Do the work; raise UndeliverableError when it can never succeed, else any error."""

    async def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        """Count and log the outcome; on `failed`, do what giving up means for this kind."""


@dataclass(frozen=True)
class SenderPolicy:
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
        handlers: Sequence[Handler],
        metrics: Metrics,
        clock: Clock,
        policy: SenderPolicy,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        self._outbox = outbox
        self._handlers = {handler.kind: handler for handler in handlers}
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
            message = await self._outbox.claim(now, claim_until, self._handlers.keys())
            if message is None:
                break
            await self._deliver(message)
            settled += 1
        self._metrics.outbox_depth.set(await self._outbox.depth(self._handlers.keys()))
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
        handler = self._handlers[message.kind]
        try:
            await handler.deliver(message)
        except UndeliverableError as exc:
            await self._give_up(handler, message, str(exc))
            return
        except DeliveryError as exc:
            await self._record_failure(handler, message, str(exc))
            return
        except Exception as exc:  # the upstream or the store failed this time: retry
            await self._record_failure(handler, message, f"{type(exc).__name__}: {exc}")
            return
        await self._outbox.mark_sent(message, self._clock.now())
        await handler.settled(message, Outcome("sent"))

    async def _record_failure(self, handler: Handler, message: OutboxMessage, error: str) -> None:
        if message.attempts >= self._policy.max_attempts:
            await self._give_up(handler, message, error)
            return
        retry_at = backoff(message.attempts, self._clock.now())
        await self._outbox.mark_failed_attempt(message, error, retry_at)
        await handler.settled(message, Outcome("retry", error, retry_at))

    async def _give_up(self, handler: Handler, message: OutboxMessage, error: str) -> None:
        await self._outbox.mark_failed_attempt(message, error, None)
        await handler.settled(message, Outcome("failed", error))
