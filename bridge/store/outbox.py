"""The outbox: work written in the order's transaction, carried out later by a sender.

A row's `kind` says what the work is: a fulfilment email, an upstream fulfilment
(`manual_redeem` on the Incentives target), the undo of a purchase whose client was told it
failed (`undo_purchase`), or the completion of a rejection whose revoke may have landed
(`finish_reject`); bridge/store/remote_orders.py queues the upstream kinds. The sender
dispatches each kind to its handler.

A row moves `pending` -> `sending` (claimed) -> `sent`, or back to `pending` with a later
`next_attempt_at` after a failed attempt, or to `failed` once the sender gives up. A pending
job made unnecessary in the transaction that made it so (a purchase confirmed: no undo) is
`cancelled`.

Claiming is one conditional UPDATE (`status` still due, checked again by the database under
the row lock), so when several replicas share a database exactly one of them wins a row.
While a row is `sending`, `next_attempt_at` is the end of the claim: a replica that dies
mid-delivery leaves a claim that expires, and the row becomes due again. `attempts` counts
claims, so a message that keeps crashing its sender still runs out of attempts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bridge.store import tables as t
from bridge.store.executor import Database, Tx, change, change_returning, read_value
from bridge.store.rows import utc
from bridge.store.statements import Query

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    app: str
    order_id: int
    kind: str
    attempts: int
    """Claims so far, this one included."""
    claimed_until: datetime
    """End of this sender's claim; also its token when it settles the message."""


async def enqueue(
    tx: Tx,
    app: str,
    order_id: int,
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
) -> int:
    """Queue a message inside the caller's transaction (due at `due_at`, default now); its id."""
    values = {
        "app": app,
        "order_id": order_id,
        "kind": kind,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": due_at or now,
        "created_at": now,
    }
    return int(await tx.scalar(_ENQUEUE, values))


_ENQUEUE = Query(sa.insert(t.outbox).returning(t.outbox.c.id))
_DONE = Query(
    sa.update(t.outbox)
    .where(t.outbox.c.id == sa.bindparam("b_id"), t.outbox.c.status == PENDING)
    .values(status=SENT, sent_at=sa.bindparam("b_now", type_=t.UtcDateTime))
)
"""The order path's statements, compiled once per engine (bridge/store/statements.py)."""


def _due(
    table: sa.FromClause, now: datetime, kinds: Collection[str] | None
) -> sa.ColumnElement[bool]:
    """Pending and due, or claimed by a sender whose claim has expired; of `kinds` if given."""
    due = sa.and_(table.c.status.in_((PENDING, SENDING)), table.c.next_attempt_at <= now)
    return due if kinds is None else sa.and_(due, table.c.kind.in_(sorted(kinds)))


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self, now: datetime, claim_until: datetime, kinds: Collection[str] | None = None
    ) -> OutboxMessage | None:
        """Claim the oldest due message (of `kinds`, if given), or None when none is left.

        A sender claims only the kinds it has a handler for. None can also mean another
        sender won the race for the oldest row; the caller polls again later, and that row is
        the other sender's to deliver.
        """
        candidate = t.outbox.alias("candidate")
        oldest_due = (
            sa.select(candidate.c.id)
            .where(_due(candidate, now, kinds))
            .order_by(candidate.c.id)
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            sa.update(t.outbox)
            .where(t.outbox.c.id == oldest_due, _due(t.outbox, now, kinds))
            .values(status=SENDING, next_attempt_at=claim_until, attempts=t.outbox.c.attempts + 1)
            .returning(t.outbox)
        )
        row = await change_returning(self._db, statement)
        if row is None:
            return None
        return OutboxMessage(
            row.id, row.app, row.order_id, row.kind, row.attempts, claimed_until=claim_until
        )

    async def mark_sent(self, message: OutboxMessage, now: datetime) -> None:
        await self._settle(message, status=SENT, sent_at=now)

    async def mark_failed_attempt(
        self, message: OutboxMessage, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery: due again at `retry_at`, or given up when it is None."""
        values: dict[str, object] = {"last_error": error[:MAX_ERROR_LENGTH]}
        if retry_at is None:
            values["status"] = FAILED
        else:
            values.update(status=PENDING, next_attempt_at=retry_at)
        await self._settle(message, **values)

    async def mark_done_unclaimed(self, message_id: int, now: datetime) -> bool:
        """Settle a message whose work was done outside the sender (an inline first attempt).

        Only while no sender holds it: a sender that claimed it meanwhile does the work again,
        which is why only idempotent work is settled this way. Whether the row was settled.
        """
        values = {"b_id": message_id, "b_now": now}
        return await change(self._db, _DONE, values) == 1

    async def depth(self, kinds: Collection[str] | None = None) -> int:
        """Messages (of `kinds`, if given) not yet delivered or given up: pending, or in hand."""
        query = sa.select(sa.func.count()).where(t.outbox.c.status.in_((PENDING, SENDING)))
        if kinds is not None:
            query = query.where(t.outbox.c.kind.in_(sorted(kinds)))
        return int(await read_value(self._db, query) or 0)

    async def _settle(self, message: OutboxMessage, **values: object) -> None:
        """Record the outcome of a claim, unless the claim expired and someone else took it."""
        statement = (
            sa.update(t.outbox)
            .where(
                t.outbox.c.id == message.id,
                t.outbox.c.status == SENDING,
                t.outbox.c.next_attempt_at == message.claimed_until,
            )
            .values(**values)
        )
        await change(self._db, statement)


def backoff(attempts: int, now: datetime, base_seconds: float = 5.0) -> datetime:
    """Exponential backoff for the next delivery attempt, capped at one hour."""
    return utc(now) + timedelta(seconds=min(base_seconds * 2**attempts, 3600.0))
