"""Upstream fulfilment retries: the outbox handler for `manual_redeem` on the Incentives target.

An approved order's `manual_redeem` is queued with its approval (bridge/store/remote_orders.py)
and tried at once by the backend; the rows this handler sees are the ones that attempt did
not settle. `manual_redeem` is idempotent per user_offer_id upstream, so a retry after a lost
answer is safe. While retries are pending the order stays `approved`; once they run out (or
the upstream refuses for good) the order becomes `redemption_error`, the legacy status for
"fulfilment failed".
"""

from __future__ import annotations

import structlog

from bridge.errors import RuleError
from bridge.incentives.backend import IncentivesBackend
from bridge.observability.metrics import Metrics
from bridge.orders.outbox_sender import Outcome, UndeliverableError
from bridge.store.outbox import OutboxMessage
from bridge.store.remote_orders import MANUAL_REDEEM

RESULTS = {"sent": "redeemed", "retry": "retry", "failed": "failed"}
"""Outbox outcome -> `bridge_redemptions_total{result}`."""


class RedemptionDelivery:
    """Retries `manual_redeem` rows; counted in `bridge_redemptions_total`."""

    kind = MANUAL_REDEEM

    def __init__(self, backend: IncentivesBackend, metrics: Metrics) -> None:
        self._backend = backend
        self._metrics = metrics
        self._log = structlog.get_logger(component="outbox_sender")

    async def deliver(self, message: OutboxMessage) -> None:
        try:
            await self._backend.fulfil(message.app, message.order_id)
        except RuleError as exc:  # refused for good (or nothing to redeem): retrying is useless
            raise UndeliverableError(f"{exc.code.value}: {exc.message}") from exc

    async def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        context = {"outbox_id": message.id, "order_id": message.order_id, "app": message.app}
        self._metrics.redemptions.labels(result=RESULTS[outcome.result]).inc()
        if outcome.result == "sent":
            self._log.info("upstream_redeemed", attempts=message.attempts, **context)
        elif outcome.result == "retry":
            self._log.warning(
                "upstream_redeem_failed",
                attempts=message.attempts,
                error=outcome.error,
                retry_at=outcome.retry_at.isoformat() if outcome.retry_at else None,
                **context,
            )
        else:
            moved = await self._backend.give_up_fulfilment(message.app, message.order_id)
            self._log.error(
                "upstream_redeem_given_up",
                attempts=message.attempts,
                error=outcome.error,
                order_status="redemption_error" if moved else "unchanged",
                **context,
            )
