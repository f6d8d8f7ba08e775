"""Compensations on the Incentives target: undo a purchase the client was told failed, and
complete a rejection whose revoke may have landed. Both run from the outbox (durable, retried
with backoff) and are safe to run again at any time; `orders-bridge reconcile --repair` calls
the same functions.

The contract of `Compensation.undo_purchase(app, order_id)`:

- Run it only after the in-flight window of the row's purchase (one call's timeout plus
  `in_flight_margin_seconds`): a purchase sent before may still land until then. The outbox
  job is due no earlier (bridge/store/remote_orders.py).
- A row still unknown becomes `voided` first (one conditional update): from then on no
  confirm can make it an order. A row that is an order (confirmed) is left alone (`kept`); a
  row that is gone (refused, discarded) needs nothing (`kept`).
- The purchase is looked up by its idempotency id in the customer's wallet (or taken from the
  row's `backend_ref` once found: a revoked offer leaves the wallet). Not there: nothing landed
  (`nothing_landed`). There: its reference is kept on the voided row, then it is revoked
  (idempotent per user_offer_id) and the points refunded (the row's one `refund` id, applied
  at most once upstream) (`undone`).
- It raises when the upstream cannot be asked or answers badly (the outbox retries later);
  `UndeliverableError` when the upstream refuses for good (given up; counted and logged as
  `failed`, for reconcile to show).

`Compensation.finish_reject(app, order_id)` completes a rejection whose revoke answer was lost
(or whose refund failed): still in the wallet -> the revoke never landed, the order stays as it
was (`not_revoked`); gone from the wallet -> refunded (same `refund` id) and recorded
`rejected` (`finished`). An order already rejected, or gone, needs nothing (`kept`).

Results are counted in `bridge_compensations_total{kind,result}` and logged.
"""

from __future__ import annotations

from collections.abc import Awaitable

import structlog

from bridge.canonical import OrderStatus
from bridge.clock import Clock
from bridge.errors import RuleError
from bridge.incentives.backend import IncentivesBackend, write_id
from bridge.incentives.tenant import Tenant
from bridge.observability.metrics import Metrics
from bridge.orders.outbox_sender import Outcome, UndeliverableError
from bridge.store.outbox import OutboxMessage
from bridge.store.remote_orders import FINISH_REJECT, UNDO_PURCHASE, Purchased, RemoteOrders

log = structlog.get_logger(component="compensation")


class Compensation:
    def __init__(
        self, backend: IncentivesBackend, orders: RemoteOrders, clock: Clock, metrics: Metrics
    ) -> None:
        self._backend = backend
        self._orders = orders
        self._clock = clock
        self._metrics = metrics

    async def undo_purchase(self, app: str, order_id: int) -> str:
        """Undo the row's purchase if it landed (see the module docstring); the result."""
        row = await self._orders.void_unknown(order_id, self._clock.now())
        if row is None or not row.voided:
            return self._done(UNDO_PURCHASE, "kept", app, order_id)
        tenant = self._tenant(app, order_id)
        ref = row.backend_ref or await tenant.find_in_wallet(row.customer_id, _purchase_id(row))
        if ref is None:
            return self._done(UNDO_PURCHASE, "nothing_landed", app, order_id)
        if row.backend_ref is None:
            await self._orders.record_found(order_id, ref, self._clock.now())
        await self._refused_for_good(tenant.revoke(ref))
        await self._refused_for_good(
            self._backend.refund(tenant, app, order_id, row.customer_id, row.points)
        )
        return self._done(UNDO_PURCHASE, "undone", app, order_id, points=row.points)

    async def finish_reject(self, app: str, order_id: int) -> str:
        """Complete a rejection whose revoke may have landed; the result."""
        order = await self._orders.order(order_id)
        if order is None or order.status is OrderStatus.REJECTED:
            return self._done(FINISH_REJECT, "kept", app, order_id)
        tenant = self._tenant(app, order_id)
        row = await self._orders.purchased(order_id)
        assert row is not None  # the order was just read
        if await tenant.find_in_wallet(order.customer_id, _purchase_id(row)) is not None:
            return self._done(FINISH_REJECT, "not_revoked", app, order_id)
        await self._refused_for_good(
            self._backend.refund(tenant, app, order_id, order.customer_id, order.points)
        )
        await self._orders.finish_reject(order_id, self._clock.now())
        return self._done(FINISH_REJECT, "finished", app, order_id, points=order.points)

    def _tenant(self, app: str, order_id: int) -> Tenant:
        tenant = self._backend.tenant(app)
        if tenant is None:
            raise UndeliverableError(f"app {app!r} of order {order_id} is not on Incentives")
        return tenant

    @staticmethod
    async def _refused_for_good(call: Awaitable[None]) -> None:
        """Await an upstream write; a refusal can never succeed on a later attempt."""
        try:
            await call
        except RuleError as exc:
            raise UndeliverableError(f"{exc.code.value}: {exc.message}") from exc

    def _done(self, kind: str, result: str, app: str, order_id: int, **context: object) -> str:
        self._metrics.compensations.labels(kind=kind, result=result).inc()
        log.info(
            "compensation_done", kind=kind, result=result, app=app, order_id=order_id, **context
        )
        return result


def _purchase_id(row: Purchased) -> str:
    return write_id(row.app, row.order_id, row.created_at, "purchase")


class CompensationDelivery:
    """The outbox handler of one compensation kind (`undo_purchase` or `finish_reject`)."""

    def __init__(self, kind: str, compensation: Compensation, metrics: Metrics) -> None:
        self.kind = kind
        self._run = (
            compensation.undo_purchase if kind == UNDO_PURCHASE else compensation.finish_reject
        )
        self._metrics = metrics

    async def deliver(self, message: OutboxMessage) -> None:
        await self._run(message.app, message.order_id)

    async def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        if outcome.result == "sent":
            return  # counted by the compensation with its result
        self._metrics.compensations.labels(kind=self.kind, result=outcome.result).inc()
        context = {"outbox_id": message.id, "order_id": message.order_id, "app": message.app}
        event = "compensation_retry" if outcome.result == "retry" else "compensation_given_up"
        log_at = log.warning if outcome.result == "retry" else log.error
        log_at(event, kind=self.kind, attempts=message.attempts, error=outcome.error, **context)


def compensation_handlers(
    compensation: Compensation, metrics: Metrics
) -> list[CompensationDelivery]:
    """The outbox handlers of both compensation kinds."""
    return [
        CompensationDelivery(kind, compensation, metrics) for kind in (UNDO_PURCHASE, FINISH_REJECT)
    ]
