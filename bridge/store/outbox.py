"""The email outbox: rows written in the order's transaction, delivered later by a sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.store import tables as t
from bridge.store.database import WRITE
from bridge.store.rows import utc

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    app: str
    order_id: int
    kind: str
    attempts: int


async def enqueue(conn: AsyncConnection, app: str, order_id: int, kind: str, now: datetime) -> None:
    """Queue a message inside the caller's transaction."""
    await conn.execute(
        sa.insert(t.outbox).values(
            app=app,
            order_id=order_id,
            kind=kind,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


class Outbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def due(self, now: datetime, limit: int = 50) -> list[OutboxMessage]:
        query = (
            sa.select(t.outbox)
            .where(t.outbox.c.status == PENDING, t.outbox.c.next_attempt_at <= now)
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [OutboxMessage(r.id, r.app, r.order_id, r.kind, r.attempts) for r in rows]

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        await self._update(message_id, status=SENT, sent_at=now, attempts=t.outbox.c.attempts + 1)

    async def mark_failed_attempt(
        self, message_id: int, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery; `retry_at=None` gives up on the message."""
        values: dict[str, object] = {"last_error": error[:500], "attempts": t.outbox.c.attempts + 1}
        if retry_at is None:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = retry_at
        await self._update(message_id, **values)

    async def depth(self) -> int:
        query = sa.select(sa.func.count()).where(t.outbox.c.status == PENDING)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def _update(self, message_id: int, **values: object) -> None:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                await conn.execute(
                    sa.update(t.outbox).where(t.outbox.c.id == message_id).values(**values)
                )


def backoff(attempts: int, now: datetime, base_seconds: float = 5.0) -> datetime:
    """Exponential backoff for the next delivery attempt, capped at one hour."""
    return utc(now) + timedelta(seconds=min(base_seconds * 2**attempts, 3600.0))
