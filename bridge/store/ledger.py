"""The order ledger: one row per order placed through the bridge, whatever the backend.

It keeps the legacy facts no backend has (integer ids, email, IP, shipping address,
challenge, review status, external id) next to the backend's own reference.

Visibility: `get`, `list` and `locate` show only orders. Two kinds of row are not orders and
read as absent:
- an Incentives row with no `backend_ref`: its purchase's outcome is unknown (it may still be
  confirmed by a retry of its Idempotency-Key, or undone: bridge/orders/compensation.py);
- a row whose status is `voided` (`VOIDED`): the client was told the order failed, and any
  purchase that landed upstream is (being) undone. Terminal; kept for the books (reconcile).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bridge.canonical import (
    Order,
    OrderFilter,
    OrderRef,
    OrderStatus,
    Purchase,
    Target,
)
from bridge.crypto import EmailCipher
from bridge.errors import ConcurrentStatusChange, DuplicateExternalId, ExternalIdSettling, RuleError
from bridge.store import tables as t
from bridge.store.executor import Database, IntegrityError, Tx, read_all, read_one, read_value
from bridge.store.rows import order_from_row
from bridge.store.statements import POSTGRESQL, Query

VOIDED = "voided"
"""The store-only status of a row that never became an order (never read as an OrderStatus)."""


def is_order(orders: sa.ColumnCollection[str, sa.ColumnElement[object]]) -> sa.ColumnElement[bool]:
    """The rows that are orders: settled (a local row, or an upstream reference) and not voided."""
    return sa.and_(
        orders.status != VOIDED,
        sa.or_(orders.target != Target.INCENTIVES.value, orders.backend_ref.is_not(None)),
    )


class Ledger:
    def __init__(self, db: Database, cipher: EmailCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def get(self, app: str, ref: OrderRef) -> Order | None:
        located = await self.locate(app, ref)
        return located[0] if located else None

    async def locate(self, app: str, ref: OrderRef) -> tuple[Order, bool] | None:
        """The order and whether its outcome is settled (always True: a row that is not an
        order, unknown or voided, is not found; the flag stays for the cutover's callers)."""
        if ref.order_id is not None:
            query, values = _BY_ID, {"app": app, "key": ref.order_id}
        else:
            query, values = _BY_EXTERNAL_ID, {"app": app, "key": ref.external_id}
        row = await read_one(self._db, query, values)
        if row is None:
            return None
        return order_from_row(row), True

    async def list(self, app: str, customer_id: str, selection: OrderFilter) -> list[Order]:
        after, before = selection.created_after, selection.created_before
        query = _PAGES[after is not None, before is not None]
        values = {
            "app": app,
            "customer_id": customer_id,
            "limit": selection.limit,
            "offset": (selection.page - 1) * selection.limit,
            "after": after,
            "before": before,
        }
        rows = await read_all(self._db, query, values)
        return [order_from_row(row) for row in rows]

    async def insert(self, tx: Tx, purchase: Purchase, target: Target) -> Order:
        """Write the ledger row for a purchase inside the caller's transaction (a unit)."""
        status = await _status_after_velocity(tx, purchase)
        values = self.row_values(purchase, target, status)
        if purchase.external_id is None:
            return order_from_row(await tx.first(_INSERT, values))
        row = await _insert_unique(tx, values, purchase.app, purchase.external_id)
        return order_from_row(row)

    def row_values(self, purchase: Purchase, target: Target, status: OrderStatus) -> dict[str, Any]:
        """The ledger row of a purchase (its email encrypted), as the orders table holds it."""
        offer = purchase.offer
        return {
            "app": purchase.app,
            "customer_id": purchase.customer.id,
            "offer_id": offer.id,
            "quantity": purchase.quantity,
            "points": purchase.points,
            "status": status.value,
            "target": target.value,
            "external_id": purchase.external_id,
            "name": offer.name,
            "logo": offer.logo,
            "description": offer.description,
            "offer_type": offer.offer_type,
            "email_enc": self._cipher.encrypt(purchase.email) if purchase.email else None,
            "ip": purchase.ip,
            "shipping_address": (
                purchase.shipping_address.model_dump(exclude_none=True)
                if purchase.shipping_address
                else None
            ),
            "challenge_id": purchase.challenge_id,
            "created_at": purchase.created_at,
            "updated_at": purchase.created_at,
        }

    @staticmethod
    async def transition(tx: Tx, order: Order, status: OrderStatus, now: datetime) -> Order:
        """Move an order from its current status; refuses if someone else moved it first."""
        values = {
            "b_id": order.id,
            "b_old": order.status.value,
            "b_new": status.value,
            "b_now": now,
        }
        row = await tx.first(_TRANSITION, values)
        if row is None:
            raise ConcurrentStatusChange(order.id, status)
        return order_from_row(row)

    async def email(self, order_id: int) -> str | None:
        token = await read_value(self._db, _EMAIL, {"b_id": order_id})
        return self._cipher.decrypt(token) if token else None


_INSERT = Query(sa.insert(t.orders).returning(t.orders))
_BY_ID = Query(
    sa.select(t.orders).where(
        t.orders.c.app == sa.bindparam("app"),
        t.orders.c.id == sa.bindparam("key"),
        is_order(t.orders.c),
    )
)
_BY_EXTERNAL_ID = Query(
    sa.select(t.orders).where(
        t.orders.c.app == sa.bindparam("app"),
        t.orders.c.external_id == sa.bindparam("key"),
        is_order(t.orders.c),
    )
)
_RECENT_FROM_IP = Query(
    sa.select(sa.func.count()).where(
        t.orders.c.app == sa.bindparam("app"),
        t.orders.c.ip == sa.bindparam("ip"),
        t.orders.c.created_at >= sa.bindparam("since", type_=t.UtcDateTime),
    )
)
_LOCK_IP = Query(
    sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(sa.bindparam("lock_key"), 0)))
)
"""PostgreSQL: orders from one (app, IP) take their velocity count one at a time (released
at commit)."""
_TRANSITION = Query(
    sa.update(t.orders)
    .where(t.orders.c.id == sa.bindparam("b_id"), t.orders.c.status == sa.bindparam("b_old"))
    .values(status=sa.bindparam("b_new"), updated_at=sa.bindparam("b_now", type_=t.UtcDateTime))
    .returning(t.orders)
)
_EMAIL = Query(sa.select(t.orders.c.email_enc).where(t.orders.c.id == sa.bindparam("b_id")))
_DUPLICATES = Query(
    sa.select(is_order(t.orders.c)).where(
        t.orders.c.app == sa.bindparam("app"), t.orders.c.external_id == sa.bindparam("key")
    )
)
"""Compiled once per engine (bridge/store/statements.py)."""


def _page(after: bool, before: bool) -> sa.Select[Any]:
    """A customer's orders, newest first, one page; with the optional time bounds."""
    orders = t.orders.c
    query = (
        sa.select(t.orders)
        .where(
            orders.app == sa.bindparam("app"),
            orders.customer_id == sa.bindparam("customer_id"),
            is_order(orders),
        )
        .order_by(orders.created_at.desc(), orders.id.desc())
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )
    if after:
        query = query.where(orders.created_at > sa.bindparam("after", type_=t.UtcDateTime))
    if before:
        query = query.where(orders.created_at < sa.bindparam("before", type_=t.UtcDateTime))
    return query


_PAGES = {
    (after, before): Query(_page(after, before))
    for after in (False, True)
    for before in (False, True)
}


async def _status_after_velocity(tx: Tx, purchase: Purchase) -> OrderStatus:
    """An approved order over its IP's velocity limit is held for review instead.

    Counted inside the order's own write: on SQLite under the write lock (one writer at a
    time, every process), on PostgreSQL under a transaction lock on (app, IP), so that of
    concurrent orders from one IP (any replica) at most the limit are approved.
    """
    velocity = purchase.velocity
    if velocity is None or purchase.ip is None or purchase.status is not OrderStatus.APPROVED:
        return purchase.status
    values = {"app": purchase.app, "ip": purchase.ip, "since": velocity.since}
    if tx.engine == POSTGRESQL:
        await tx.run(_LOCK_IP, {"lock_key": f"velocity|{purchase.app}|{purchase.ip}"})
    if int(await tx.scalar(_RECENT_FROM_IP, values) or 0) >= velocity.max_orders:
        return OrderStatus.PENDING_APPROVAL
    return purchase.status


async def _insert_unique(tx: Tx, values: dict[str, Any], app: str, external_id: str) -> Any:
    """Insert an order that has an external id, refusing a duplicate with `validation`.

    The SELECT catches the usual case. Two concurrent orders with the same new external id
    (different customers and offers, so no row lock in common) both pass it on PostgreSQL;
    the unique constraint then stops the second, inside a savepoint so that the refusal can
    be the legacy error instead of an aborted transaction and a 500.
    """
    await _refuse_duplicate_external_id(tx, app, external_id)
    try:
        async with tx.savepoint():  # the row is read before the savepoint is released
            return await tx.first(_INSERT, values)
    except IntegrityError:
        await _refuse_duplicate_external_id(tx, app, external_id)
        raise


async def _refuse_duplicate_external_id(tx: Tx, app: str, external_id: str) -> None:
    """An order holds the external id: refused. A purchase whose outcome is still unknown
    holds it (issue 14): not_available, since it may yet be undone and free the id."""
    holder = await tx.scalar(_DUPLICATES, {"app": app, "key": external_id})
    if holder is None:
        return
    if holder:
        raise duplicate_external_id(external_id)
    raise ExternalIdSettling(external_id)


def duplicate_external_id(external_id: str) -> RuleError:
    return DuplicateExternalId(external_id)
