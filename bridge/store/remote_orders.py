"""Ledger rows of orders a remote backend holds (the Incentives target), and their undo jobs.

A purchase's row is written *before* the upstream call, with no `backend_ref`: the recorded
"unknown upstream" state, which list and get never show (bridge/store/ledger.py). The same
unit queues the row's `undo_purchase` job in the outbox, due once the call and its settling
are surely over (a dead man's switch: a process that dies mid-call leaves a job, not a
mystery). Then exactly one of these ends the row's unknown state, each one unit of work:

- `confirm`: the upstream reference is recorded and the undo job cancelled (the order stands);
- `discard`: the upstream refused, or the request certainly never left: the row is deleted and
  the job cancelled (nothing was spent);
- `give_up` (no Idempotency-Key): the row becomes `voided` and the job is due after the
  in-flight window; `postpone` (a key): the row stays unknown and the job is due when the key
  expires, so that a retry of the key can still confirm it;
- `void_unknown` (the undo job itself, bridge/orders/compensation.py): the row becomes
  `voided` if it is still unknown.

Every one of them is conditional on the row still being unknown, so when a late confirm races
the undo job exactly one wins: a confirm that finds the row voided reports it, and its caller
answers the error the undo makes true.

An approved order's upstream fulfilment (`manual_redeem`) is queued in the transaction that
approves it (`MANUAL_REDEEM`), due after a grace period: the backend tries it at once and
settles the row when that works; otherwise the outbox sender retries it with backoff, and
giving up turns the order into `redemption_error`. A rejection whose upstream revoke may
have landed without its refund is completed by a `finish_reject` job (`FINISH_REJECT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bridge.canonical import Order, OrderStatus, Purchase, Target
from bridge.store import outbox
from bridge.store import tables as t
from bridge.store.executor import Database, Tx, change, read_one, read_value
from bridge.store.idempotency import drop_key, name_order, take_key
from bridge.store.ledger import VOIDED, Ledger
from bridge.store.rows import order_from_row, utc
from bridge.store.statements import Query

FULFILMENT_EMAIL = "fulfilment_email"
MANUAL_REDEEM = "manual_redeem"
UNDO_PURCHASE = "undo_purchase"
FINISH_REJECT = "finish_reject"


@dataclass(frozen=True)
class Purchased:
    """What an undo needs to know of a row (read whatever its status, `voided` included)."""

    app: str
    order_id: int
    customer_id: str
    points: int
    created_at: datetime
    backend_ref: str | None
    status: str
    """`voided`, or the legacy status of a row that is (still) an order or unknown."""

    @property
    def voided(self) -> bool:
        return self.status == VOIDED


class RemoteOrders:
    def __init__(self, db: Database, ledger: Ledger, target: Target) -> None:
        self._db = db
        self._ledger = ledger
        self._target = target
        self._outbox = outbox.Outbox(db)

    async def open(self, purchase: Purchase, undo_at: datetime) -> Order:
        """Write the order's row in the unknown state, the key its write holds and its undo job."""

        async def unit(tx: Tx) -> Order:
            await take_key(tx)
            order = await self._ledger.insert(tx, purchase, self._target)
            await name_order(tx, order.id)  # a retry of the key finds the order (even unknown)
            await outbox.enqueue(
                tx, order.app, order.id, UNDO_PURCHASE, purchase.created_at, undo_at
            )
            return order

        return await self._db.write(unit)

    async def confirm(
        self,
        order: Order,
        backend_ref: str,
        now: datetime,
        fulfil_after: timedelta = timedelta(0),
    ) -> tuple[bool, int | None]:
        """Record the upstream reference and cancel the undo; an approved order's fulfilment is
        queued. (whether the row was still unknown, the queued `manual_redeem` row's id).

        False: the row was voided first (its undo runs); nothing is recorded.
        """
        values = {"b_id": order.id, "b_ref": backend_ref, "b_now": now}

        async def unit(tx: Tx) -> tuple[bool, int | None]:
            if await tx.run(_CONFIRM, values) != 1:
                return False, None
            await _cancel(tx, order.id, UNDO_PURCHASE, now)
            fulfilment = None
            if order.status is OrderStatus.APPROVED:
                fulfilment = await _queue_fulfilment(tx, order, now, fulfil_after)
            await name_order(tx, order.id)
            return True, fulfilment

        return await self._db.write(unit)

    async def discard(self, order: Order, now: datetime) -> None:
        """Nothing was spent (refused, or never sent): the row goes, with its undo job and the
        idempotency claim the write holds (a retry of the key then runs afresh; a refusal is
        stored for the key by the caller)."""
        delete = sa.delete(t.orders).where(_still_unknown(order.id))

        async def unit(tx: Tx) -> None:
            if await tx.run(delete) != 1:
                return
            await _cancel(tx, order.id, UNDO_PURCHASE, now)
            await drop_key(tx)

        await self._db.write(unit)

    async def give_up(self, order: Order, now: datetime, undo_at: datetime) -> bool:
        """No key: the client is told the order failed. The row is voided, the undo due at
        `undo_at`. Whether the row was still unknown (False: a confirm won the race)."""

        async def unit(tx: Tx) -> bool:
            voided = await _void(tx, order.id, now)
            await _reschedule(tx, order.id, UNDO_PURCHASE, undo_at)
            return voided

        return await self._db.write(unit)

    async def postpone(self, order: Order, undo_at: datetime) -> None:
        """A keyed call left unknown: the row stays unknown; the undo is due at `undo_at`."""
        params = {"j_order": order.id, "j_kind": UNDO_PURCHASE, "j_at": undo_at}
        await change(self._db, _RESCHEDULE, params)

    async def void_unknown(self, order_id: int, now: datetime) -> Purchased | None:
        """The undo job's first step: void the row if still unknown; the row as it now is
        (None when it is gone: the purchase was refused and the row discarded)."""

        async def unit(tx: Tx) -> Purchased | None:
            await _void(tx, order_id, now)
            return _purchased(await tx.first(_ROW, {"b_id": order_id}))

        return await self._db.write(unit)

    async def purchased(self, order_id: int) -> Purchased | None:
        """The row whatever its state (for compensations and reconciliation)."""
        return _purchased(await read_one(self._db, _ROW, {"b_id": order_id}))

    async def record_found(self, order_id: int, backend_ref: str, now: datetime) -> None:
        """A voided row's purchase was found upstream: keep its reference, so that the undo
        revokes it even once the wallet no longer lists it."""
        statement = (
            sa.update(t.orders)
            .where(t.orders.c.id == order_id, t.orders.c.status == VOIDED)
            .values(backend_ref=backend_ref, updated_at=now)
        )
        await change(self._db, statement)

    async def unknown_order(self, app: str, order_id: int) -> Order | None:
        """A row whose outcome is unknown (not voided, no reference), for a keyed retry."""
        query = sa.select(t.orders).where(
            t.orders.c.app == app, _still_unknown(order_id), t.orders.c.target == self._target
        )
        row = await read_one(self._db, query)
        return None if row is None else order_from_row(row)

    async def backend_ref(self, order_id: int) -> str | None:
        query = sa.select(t.orders.c.backend_ref).where(
            t.orders.c.id == order_id, t.orders.c.status != VOIDED
        )
        ref: str | None = await read_value(self._db, query)
        return ref

    async def approve(
        self, order: Order, now: datetime, fulfil_after: timedelta
    ) -> tuple[Order, int]:
        """Approve in the ledger and queue the upstream fulfilment with it; the row's id."""

        async def unit(tx: Tx) -> tuple[Order, int]:
            await take_key(tx)
            updated = await Ledger.transition(tx, order, OrderStatus.APPROVED, now)
            fulfilment = await _queue_fulfilment(tx, order, now, fulfil_after)
            await name_order(tx, order.id)
            return updated, fulfilment

        return await self._db.write(unit)

    async def begin_reject(self, order: Order, now: datetime, finish_at: datetime) -> None:
        """Before the revoke leaves: queue the job that completes the rejection if the call
        cannot (due at `finish_at`, after the in-flight window)."""

        async def unit(tx: Tx) -> int:
            return await outbox.enqueue(tx, order.app, order.id, FINISH_REJECT, now, finish_at)

        await self._db.write(unit)

    async def reject(self, order: Order, now: datetime) -> Order:
        """Reject in the ledger once the upstream has revoked and refunded; the job is done."""

        async def unit(tx: Tx) -> Order:
            await take_key(tx)
            updated = await Ledger.transition(tx, order, OrderStatus.REJECTED, now)
            await _cancel(tx, order.id, FINISH_REJECT, now)
            await name_order(tx, order.id)
            return updated

        return await self._db.write(unit)

    async def finish_reject(self, order_id: int, now: datetime) -> bool:
        """The finish job completed revoke and refund: the order becomes rejected (from any
        status but rejected); whether it moved."""
        orders = t.orders.c
        statement = (
            sa.update(t.orders)
            .where(
                orders.id == order_id,
                orders.status.in_([OrderStatus.PENDING_APPROVAL.value, OrderStatus.APPROVED.value]),
            )
            .values(status=OrderStatus.REJECTED.value, updated_at=now)
        )
        return await change(self._db, statement) == 1

    async def order(self, order_id: int) -> Order | None:
        """An order (not an unknown or voided row) by id, for the outbox handlers."""
        query = sa.select(t.orders).where(
            t.orders.c.id == order_id,
            t.orders.c.status != VOIDED,
            t.orders.c.backend_ref.is_not(None),
        )
        row = await read_one(self._db, query)
        return None if row is None else order_from_row(row)

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
        return await change(self._db, statement) == 1


def _still_unknown(order_id: Any) -> sa.ColumnElement[bool]:
    orders = t.orders.c
    return sa.and_(orders.id == order_id, orders.backend_ref.is_(None), orders.status != VOIDED)


async def _void(tx: Tx, order_id: int, now: datetime) -> bool:
    """Unknown -> voided (whether it was still unknown). The external id is let go, so that a
    new order may reuse it."""
    return await tx.run(_VOID, {"v_id": order_id, "v_now": now}) == 1


async def _cancel(tx: Tx, order_id: int, kind: str, now: datetime) -> None:
    """Settle the order's pending job of `kind` without running it (a sender holding it finds
    the work done: every job checks the row first)."""
    await tx.run(_CANCEL, {"j_order": order_id, "j_kind": kind, "j_at": now})


async def _reschedule(tx: Tx, order_id: int, kind: str, due_at: datetime) -> None:
    """Make the order's pending job of `kind` due at `due_at`."""
    await tx.run(_RESCHEDULE, {"j_order": order_id, "j_kind": kind, "j_at": due_at})


_VOID = Query(
    sa.update(t.orders)
    .where(_still_unknown(sa.bindparam("v_id")))
    .values(status=VOIDED, external_id=None, updated_at=sa.bindparam("v_now", type_=t.UtcDateTime))
)
_PENDING_JOB = sa.update(t.outbox).where(
    t.outbox.c.order_id == sa.bindparam("j_order"),
    t.outbox.c.kind == sa.bindparam("j_kind"),
    t.outbox.c.status == outbox.PENDING,
)
_CANCEL = Query(
    _PENDING_JOB.values(status=outbox.CANCELLED, sent_at=sa.bindparam("j_at", type_=t.UtcDateTime))
)
_RESCHEDULE = Query(_PENDING_JOB.values(next_attempt_at=sa.bindparam("j_at", type_=t.UtcDateTime)))


def _purchased(row: Any) -> Purchased | None:
    if row is None:
        return None
    return Purchased(
        app=row.app,
        order_id=row.id,
        customer_id=row.customer_id,
        points=row.points,
        created_at=utc(row.created_at),
        backend_ref=row.backend_ref,
        status=row.status,
    )


_CONFIRM = Query(
    sa.update(t.orders)
    .where(
        t.orders.c.id == sa.bindparam("b_id"),
        t.orders.c.backend_ref.is_(None),
        t.orders.c.status != VOIDED,
    )
    .values(
        backend_ref=sa.bindparam("b_ref"),
        updated_at=sa.bindparam("b_now", type_=t.UtcDateTime),
    )
)
_ROW = Query(sa.select(t.orders).where(t.orders.c.id == sa.bindparam("b_id")))


async def _queue_fulfilment(tx: Tx, order: Order, now: datetime, fulfil_after: timedelta) -> int:
    """Queue the approved order's email and its `manual_redeem` (due after `fulfil_after`)."""
    await outbox.enqueue(tx, order.app, order.id, FULFILMENT_EMAIL, now)
    due_at = now + fulfil_after
    return await outbox.enqueue(tx, order.app, order.id, MANUAL_REDEEM, now, due_at=due_at)
