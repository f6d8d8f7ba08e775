"""The ledger as `reconcile` reads it: an app's Incentives rows, raw, and the void repair.

A row whose compensation is still queued in the outbox is flagged: the bridge is settling it.

Rows are read as stored (a `voided` row, or one whose purchase is still unknown, is no order,
so the order repositories never return it; the books must see every row). The comparison is in
bridge/reconcile/books.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bridge.canonical import Target
from bridge.store import tables as t
from bridge.store.executor import Database, change, read_all
from bridge.store.ledger import VOIDED
from bridge.store.outbox import PENDING, SENDING
from bridge.store.remote_orders import FINISH_REJECT, UNDO_PURCHASE
from bridge.store.rows import utc


@dataclass(frozen=True)
class BookRow:
    id: int
    app: str
    customer_id: str
    points: int
    status: str
    backend_ref: str | None
    created_at: datetime
    compensating: bool
    """A compensation of the bridge's (`undo_purchase`, `finish_reject`) is still queued."""


_COMPENSATING = (
    sa.select(t.outbox.c.id)
    .where(
        t.outbox.c.app == t.orders.c.app,
        t.outbox.c.order_id == t.orders.c.id,
        t.outbox.c.kind.in_((UNDO_PURCHASE, FINISH_REJECT)),
        t.outbox.c.status.in_((PENDING, SENDING)),
    )
    .exists()
)


class Books:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def customers(self, app: str, since: datetime | None) -> list[str]:
        """Customers with an Incentives row since `since`, and every customer the bridge's own
        store knows for the app (a migrated tenant's); sorted."""
        orders = t.orders.c
        in_ledger = sa.select(orders.customer_id).where(
            orders.app == app, orders.target == Target.INCENTIVES.value
        )
        if since is not None:
            in_ledger = in_ledger.where(orders.created_at >= since)
        known = sa.select(t.customers.c.id).where(t.customers.c.app == app)
        query = sa.union(in_ledger, known)
        return sorted(str(row[0]) for row in await read_all(self._db, query))

    async def rows(self, app: str, customer_id: str, since: datetime | None) -> list[BookRow]:
        """The customer's Incentives rows created since `since`, oldest first."""
        orders = t.orders.c
        query = (
            sa.select(
                orders.id,
                orders.app,
                orders.customer_id,
                orders.points,
                orders.status,
                orders.backend_ref,
                orders.created_at,
                _COMPENSATING.label("compensating"),
            )
            .where(
                orders.app == app,
                orders.customer_id == customer_id,
                orders.target == Target.INCENTIVES.value,
            )
            .order_by(orders.id)
        )
        if since is not None:
            query = query.where(orders.created_at >= since)
        found = await read_all(self._db, query)
        return [
            BookRow(
                id=row.id,
                app=row.app,
                customer_id=row.customer_id,
                points=row.points,
                status=row.status,
                backend_ref=row.backend_ref,
                created_at=utc(row.created_at),
                compensating=bool(row.compensating),
            )
            for row in found
        ]

    async def void(self, app: str, order_id: int, status: str, now: datetime) -> bool:
        """A row whose purchase does not stand upstream ends `voided`, if it is still `status`
        (so a concurrent change wins); whether it moved."""
        orders = t.orders.c
        statement = (
            sa.update(t.orders)
            .where(orders.app == app, orders.id == order_id, orders.status == status)
            .values(status=VOIDED, updated_at=now)
        )
        return await change(self._db, statement) == 1
