"""Idempotency keys: the first response to a write, kept so that a retry gets it back.

A key is claimed by inserting its row `in_progress`; the primary key `(app, key)` makes the
claim exclusive on every engine (a concurrent duplicate's INSERT fails, or on PostgreSQL
waits for the winner's transaction and then fails).

The claim is held by the keyed write's units of work, not passed along: the contract
(bridge/orders/idempotency.py) runs the write inside `holding(claim)`, and the store
operations that take a key do it in their own unit: `take_key` as the unit's first
statement (so an order and its claim commit or roll back together), `name_order` once the
order has its id, `drop_key` when the write came to nothing. Outside `holding` they do
nothing. A unit runs in its caller's context on
both engines (bridge/store/executor.py), so it sees the claim its caller holds.

Once the response is rendered it is stored (`record`, one statement) and the row becomes
`done`. Expired rows are deleted by `reap`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bridge.store import tables as t
from bridge.store.executor import Database, IntegrityError, Tx, change, read_one
from bridge.store.rows import utc
from bridge.store.statements import Query

IN_PROGRESS = "in_progress"
DONE = "done"
RELEASED = "released"
"""The `owner` of a claim whose request answered without storing (a 5xx): nobody holds it."""


class KeyTakenError(Exception):
    """Another request holds (or has finished) this idempotency key."""

    def __init__(self, app: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of app {app!r} is taken")
        self.app = app
        self.key = key


@dataclass(frozen=True)
class KeyClaim:
    """What a write must record, in its own transaction, to own an idempotency key.

    `owner` tells this request's claim from a concurrent duplicate's: only the request that
    holds the claim may settle it (`IdempotencyStore.record`).
    """

    app: str
    key: str
    fingerprint: str
    operation: str
    created_at: datetime
    expires_at: datetime
    owner: str | None = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class StoredKey:
    """A key's row: `response_*` are set once the key is `done`."""

    app: str
    key: str
    fingerprint: str
    operation: str
    status: str
    response_status: int | None
    response_body: str | None
    order_id: int | None
    created_at: datetime
    expires_at: datetime
    owner: str | None

    def taken_over(self) -> KeyClaim:
        """The claim of this key as its holder made it, so that another request may settle it."""
        return KeyClaim(
            self.app,
            self.key,
            self.fingerprint,
            self.operation,
            self.created_at,
            self.expires_at,
            owner=self.owner,
        )


_HELD: ContextVar[KeyClaim | None] = ContextVar("idempotency_claim", default=None)


@contextmanager
def holding(claim: KeyClaim) -> Iterator[None]:
    """Hold `claim` for the writes made inside the block (their units take the key)."""
    token = _HELD.set(claim)
    try:
        yield
    finally:
        _HELD.reset(token)


def held_claim() -> KeyClaim | None:
    """The claim the current write holds; None outside `holding` (a write without a key)."""
    return _HELD.get()


async def insert_claim(tx: Tx, claim: KeyClaim) -> None:
    """Claim the key inside the caller's transaction; KeyTakenError when it is not free."""
    try:
        await tx.run(_INSERT, _claim_values(claim))
    except IntegrityError as exc:
        raise KeyTakenError(claim.app, claim.key) from exc


async def take_key(tx: Tx) -> None:
    """Claim the held key, if any, in this unit; KeyTakenError when it is not free.

    Call it first in the unit: on PostgreSQL a duplicate then waits on the key before it
    has locked any balance or stock row.
    """
    claim = held_claim()
    if claim is not None:
        await insert_claim(tx, claim)


async def name_order(tx: Tx, order_id: int) -> None:
    """Name, on the held key, the order its write produced (kept for crash recovery)."""
    claim = held_claim()
    if claim is not None:
        await tx.run(_ATTACH, {"b_app": claim.app, "b_key": claim.key, "b_order_id": order_id})


async def drop_key(tx: Tx) -> None:
    """Delete the held key's claim in this unit: its write came to nothing."""
    claim = held_claim()
    if claim is not None:
        await tx.run(sa.delete(t.idempotency_keys).where(_held_by(claim)))


_KEYS = t.idempotency_keys.c
_INSERT = Query(sa.insert(t.idempotency_keys))
_ATTACH = Query(
    sa.update(t.idempotency_keys)
    .where(
        _KEYS.app == sa.bindparam("b_app"),
        _KEYS.key == sa.bindparam("b_key"),
        _KEYS.status == IN_PROGRESS,
    )
    .values(order_id=sa.bindparam("b_order_id"))
)
_UPSERT = postgresql.insert(t.idempotency_keys)
_RECORD = Query(
    _UPSERT.on_conflict_do_update(
        index_elements=[_KEYS.app, _KEYS.key],
        set_={
            "status": _UPSERT.excluded.status,
            "response_status": _UPSERT.excluded.response_status,
            "response_body": _UPSERT.excluded.response_body,
            "order_id": sa.func.coalesce(_KEYS.order_id, _UPSERT.excluded.order_id),
        },
        where=sa.and_(
            _KEYS.status == IN_PROGRESS, _KEYS.owner.is_not_distinct_from(_UPSERT.excluded.owner)
        ),
    ).returning(_KEYS.app)
)
"""Store an answer in one statement: the held claim's row becomes `done`, or a `done` row is
inserted where there is none; another request's row is left as it is and nothing returned.
(PostgreSQL's INSERT ... ON CONFLICT DO UPDATE, which SQLite speaks too.)"""
_FIND = Query(
    sa.select(t.idempotency_keys).where(
        _KEYS.app == sa.bindparam("b_app"), _KEYS.key == sa.bindparam("b_key")
    )
)
"""Compiled once per engine (bridge/store/statements.py)."""


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, app: str, key: str, now: datetime) -> StoredKey | None:
        """The key's row, or None when it is unknown or expired (an expired row is dropped)."""
        keys = t.idempotency_keys.c
        row = await read_one(self._db, _FIND, {"b_app": app, "b_key": key})
        if row is None:
            return None
        if utc(row.expires_at) > now:
            return _stored(row)
        await self._delete_expired(
            sa.and_(keys.app == app, keys.key == key, keys.expires_at <= now)
        )
        return None

    async def claim(self, claim: KeyClaim) -> None:
        """Claim the key in a transaction of its own (for a write the store cannot share).

        KeyTakenError when another request holds or has answered the key.
        """

        async def unit(tx: Tx) -> None:
            await insert_claim(tx, claim)

        await self._db.write(unit)

    async def forget(self, claim: KeyClaim) -> None:
        """Delete the claim `claim`'s request holds: its write was known never to be sent."""
        await change(self._db, sa.delete(t.idempotency_keys).where(_held_by(claim)))

    async def record(
        self, claim: KeyClaim, status: int, body: str, order_id: int | None
    ) -> StoredKey | None:
        """Store the response of the write that holds `claim`; the other owner's row if it lost.

        If the claim row is ours (`in_progress`, same owner), it becomes `done`; if there is
        no row (the write failed and rolled its claim back), a `done` row is inserted; if
        another request holds the key or stored a response first, its row is returned.
        """
        values = _claim_values(claim) | {
            "status": DONE,
            "response_status": status,
            "response_body": body,
            "order_id": order_id,
        }
        while not await self._db.write_one(_RECORD, values):
            other = await read_one(self._db, _FIND, {"b_app": claim.app, "b_key": claim.key})
            if other is not None:  # gone meanwhile (expired, forgotten): store ours after all
                return _stored(other)
        return None

    async def release(self, claim: KeyClaim) -> None:
        """The request holding `claim` answered a 5xx and stores nothing: let go of the claim.

        A committed claim stays (it may name an order left unknown upstream), but a retry
        need not wait for a writer that has already answered: it recovers at once.
        """
        await change(
            self._db,
            sa.update(t.idempotency_keys).where(_held_by(claim)).values(owner=RELEASED),
        )

    async def reap(self, now: datetime) -> int:
        """Delete every expired key; the number deleted."""
        return await self._delete_expired(t.idempotency_keys.c.expires_at <= now)

    async def _delete_expired(self, condition: sa.ColumnElement[bool]) -> int:
        return await change(self._db, sa.delete(t.idempotency_keys).where(condition))


def _held_by(claim: KeyClaim) -> sa.ColumnElement[bool]:
    """The key's row while `claim`'s request holds it (in progress, the same owner)."""
    keys = t.idempotency_keys.c
    return sa.and_(
        keys.app == claim.app,
        keys.key == claim.key,
        keys.status == IN_PROGRESS,
        keys.owner.is_not_distinct_from(claim.owner),
    )


def _claim_values(claim: KeyClaim) -> dict[str, object]:
    return {
        "app": claim.app,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "operation": claim.operation,
        "status": IN_PROGRESS,
        "created_at": claim.created_at,
        "expires_at": claim.expires_at,
        "owner": claim.owner,
    }


def _stored(row: Any) -> StoredKey:
    return StoredKey(
        app=row.app,
        key=row.key,
        fingerprint=row.fingerprint,
        operation=row.operation,
        status=row.status,
        response_status=row.response_status,
        response_body=row.response_body,
        order_id=row.order_id,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at),
        owner=row.owner,
    )
