"""Ledger rows of orders a remote backend holds (the Incentives target).

The ledger row is written *before* the upstream purchase, with no `backend_ref`: that is the
recorded "unknown upstream" state. Once the upstream answers, the row is confirmed with the
upstream's `user_offer_id` (as `backend_ref`) or, when the upstream refused, discarded (nothing
was spent, so there is no order). A row still unknown is settled by the reconciler; it is
never guessed.

An approved order's upstream fulfilment (`manual_redeem`) is recorded in the outbox in the
same transaction that approves it (`MANUAL_REDEEM`), due after a grace period: the backend
tries it at once and settles the row when that works; otherwise the outbox sender retries it
with backoff, and giving up turns the order into `redemption_error`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.canonical import Order, OrderStatus, Purchase, Target
from bridge.store import outbox, units
from bridge.store import tables as t
from bridge.store.idempotency import KeyClaim, attach_order, insert_claim
from bridge.store.ledger import Ledger
from bridge.store.rows import order_from_row, utc
from bridge.store.unsettled import UnsettledIndex

FULFILMENT_EMAIL = "fulfilment_email"
MANUAL_REDEEM = "manual_redeem"


class RemoteOrders:
    def __init__(
        self,
        engine: AsyncEngine,
        ledger: Ledger,
        target: Target,
        unsettled: UnsettledIndex | None = None,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._target = target
        self._outbox = outbox.Outbox(engine)
        self._unsettled = unsettled or UnsettledIndex()
        self._scan_lock = asyncio.Lock()
        self._opened_during_scan: set[int] | None = None

    async def open(self, purchase: Purchase, claim: KeyClaim | None) -> Order:
        """Write the order's ledger row in the unknown state (and its idempotency claim)."""

        def unit(conn: sa.Connection) -> Order:
            if claim is not None:
                insert_claim(conn, claim)
            order = self._ledger.insert(conn, purchase, self._target)
            if claim is not None:  # a retry of this key finds the order (even left unknown)
                attach_order(conn, claim, order.id)
            return order

        order = await units.write(self._engine, unit)
        self._unsettled.opened(order.app, order.customer_id, order.id, order.created_at)
        if self._opened_during_scan is not None:
            self._opened_during_scan.add(order.id)
        return order

    async def confirm(
        self,
        order: Order,
        backend_ref: str,
        now: datetime,
        claim: KeyClaim | None,
        fulfil_after: timedelta = timedelta(0),
    ) -> int | None:
        """Record the upstream reference; an approved order's fulfilment is queued.

        Returns the queued `manual_redeem` row's id (None when nothing was queued: the order
        is not approved, or was confirmed already).
        """
        values = {"b_id": order.id, "b_ref": backend_ref, "b_now": now}

        def unit(conn: sa.Connection) -> int | None:
            fulfilment = None
            confirmed = conn.execute(_CONFIRM, values).rowcount == 1
            if confirmed and order.status is OrderStatus.APPROVED:
                fulfilment = _queue_fulfilment(conn, order, now, fulfil_after)
            if claim is not None:
                attach_order(conn, claim, order.id)
            return fulfilment

        fulfilment = await units.write(self._engine, unit)
        self._unsettled.settled(order.app, order.customer_id, order.id)
        return fulfilment

    async def discard(self, order: Order) -> None:
        """The upstream refused the purchase: nothing was spent, so the order never existed."""
        delete = sa.delete(t.orders).where(
            t.orders.c.id == order.id, t.orders.c.backend_ref.is_(None)
        )
        await units.write(self._engine, lambda conn: conn.execute(delete))
        self._unsettled.settled(order.app, order.customer_id, order.id)

    async def backend_ref(self, order_id: int) -> str | None:
        query = sa.select(t.orders.c.backend_ref).where(t.orders.c.id == order_id)
        ref: str | None = await units.read(self._engine, lambda conn: conn.execute(query).scalar())
        return ref

    async def unknown(
        self, app: str, customer_id: str, created_before: datetime | None = None
    ) -> list[Order]:
        """The customer's orders whose upstream outcome is not recorded yet, oldest first.

        Read only for a customer the unsettled index lists (bridge/store/unsettled.py) with
        such an order created before `created_before` (when given: the caller leaves younger
        ones to the calls still placing them); otherwise nothing is read and none returned.
        """
        await self._rescan_if_stale()
        if not self._unsettled.may_have(app, customer_id, created_before):
            return []
        values = {"app": app, "customer_id": customer_id, "target": self._target.value}
        before = self._unsettled.listed(app, customer_id)
        rows = await units.read(self._engine, lambda conn: conn.execute(_UNKNOWN, values).all())
        found = ((row.id, utc(row.created_at)) for row in rows)
        self._unsettled.found(app, customer_id, found, before)
        return [order_from_row(row) for row in rows]

    async def _rescan_if_stale(self) -> None:
        """Fill the unsettled index from the ledger when it is due (one query, indexed)."""
        if not self._unsettled.stale():
            return
        async with self._scan_lock:
            if not self._unsettled.stale():
                return
            orders = t.orders.c
            query = sa.select(orders.app, orders.customer_id, orders.id, orders.created_at).where(
                orders.target == self._target.value, orders.backend_ref.is_(None)
            )
            self._opened_during_scan = set()
            try:
                rows = await units.read(self._engine, lambda conn: conn.execute(query).all())
            finally:
                opened, self._opened_during_scan = self._opened_during_scan, None
            found = ((r.app, r.customer_id, r.id, utc(r.created_at)) for r in rows)
            self._unsettled.replace(found, opened)

    async def approve(
        self, order: Order, now: datetime, claim: KeyClaim | None, fulfil_after: timedelta
    ) -> tuple[Order, int]:
        """Approve in the ledger and queue the upstream fulfilment with it; the row's id."""

        def unit(conn: sa.Connection) -> tuple[Order, int]:
            if claim is not None:
                insert_claim(conn, claim)
            updated = Ledger.transition(conn, order, OrderStatus.APPROVED, now)
            fulfilment = _queue_fulfilment(conn, order, now, fulfil_after)
            if claim is not None:
                attach_order(conn, claim, order.id)
            return updated, fulfilment

        return await units.write(self._engine, unit)

    async def reject(self, order: Order, now: datetime, claim: KeyClaim | None) -> Order:
        """Reject in the ledger once the upstream has revoked and refunded."""

        def unit(conn: sa.Connection) -> Order:
            if claim is not None:
                insert_claim(conn, claim)
            updated = Ledger.transition(conn, order, OrderStatus.REJECTED, now)
            if claim is not None:
                attach_order(conn, claim, order.id)
            return updated

        return await units.write(self._engine, unit)

    async def fulfilled(self, fulfilment_id: int, now: datetime) -> None:
        """The inline `manual_redeem` worked: settle its outbox row, unless a sender holds it."""
        await self._outbox.mark_done_unclaimed(fulfilment_id, now)

    async def fail_redemption(self, app: str, order_id: int, now: datetime) -> bool:
        """The upstream fulfilment was given up: approved -> redemption_error; whether it moved."""
        orders = t.orders.c
        statement = (
            sa.update(t.orders)
            .where(
                orders.app == app,
                orders.id == order_id,
                orders.status == OrderStatus.APPROVED.value,
            )
            .values(status=OrderStatus.REDEMPTION_ERROR.value, updated_at=now)
        )
        result = await units.write(self._engine, lambda conn: conn.execute(statement))
        return bool(result.rowcount == 1)


_CONFIRM = (
    sa.update(t.orders)
    .where(t.orders.c.id == sa.bindparam("b_id"), t.orders.c.backend_ref.is_(None))
    .values(backend_ref=sa.bindparam("b_ref"), updated_at=sa.bindparam("b_now"))
)
_UNKNOWN = (
    sa.select(t.orders)
    .where(
        t.orders.c.app == sa.bindparam("app"),
        t.orders.c.customer_id == sa.bindparam("customer_id"),
        t.orders.c.target == sa.bindparam("target"),
        t.orders.c.backend_ref.is_(None),
    )
    .order_by(t.orders.c.id)
)


def _queue_fulfilment(
    conn: sa.Connection, order: Order, now: datetime, fulfil_after: timedelta
) -> int:
    """Queue the approved order's email and its `manual_redeem` (due after `fulfil_after`)."""
    outbox.enqueue(conn, order.app, order.id, FULFILMENT_EMAIL, now)
    return outbox.enqueue(conn, order.app, order.id, MANUAL_REDEEM, now, due_at=now + fulfil_after)
