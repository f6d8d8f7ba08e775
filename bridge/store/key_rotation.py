"""Re-encrypting stored emails under the newest key (`orders-bridge rotate-email-keys`).

Rows are read in primary-key order, a batch per write transaction, so writers are never held
up for long. A token the first key already decrypts is left alone, so a second run changes
nothing; a token no configured key decrypts is counted, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store.executor import Database, Tx, Unit


@dataclass
class RotationCount:
    rotated: int = 0
    current: int = 0
    unreadable: int = 0


async def rotate_email_keys(
    db: Database, cipher: EmailCipher, batch_size: int = 500
) -> dict[str, RotationCount]:
    """Re-encrypt `customers.email_enc` and `orders.email_enc`; counts per table."""
    tables = {
        "customers": (t.customers, (t.customers.c.app, t.customers.c.id)),
        "orders": (t.orders, (t.orders.c.id,)),
    }
    counts: dict[str, RotationCount] = {}
    for name, (table, key) in tables.items():
        counts[name] = await _rotate_table(db, cipher, table, key, batch_size)
    return counts


async def _rotate_table(
    db: Database,
    cipher: EmailCipher,
    table: sa.Table,
    key: tuple[sa.Column[Any], ...],
    batch_size: int,
) -> RotationCount:
    count = RotationCount()
    after: tuple[Any, ...] | None = None
    while True:
        query = (
            sa.select(*key, table.c.email_enc)
            .where(table.c.email_enc.is_not(None))
            .order_by(*key)
            .limit(batch_size)
        )
        if after is not None:
            query = query.where(sa.tuple_(*key) > sa.tuple_(*after))
        rows = await db.write(_rotate_batch(query, cipher, table, key, count))
        if len(rows) < batch_size:
            return count
        after = tuple(rows[-1][: len(key)])


def _rotate_batch(
    query: sa.Select[Any],
    cipher: EmailCipher,
    table: sa.Table,
    key: tuple[sa.Column[Any], ...],
    count: RotationCount,
) -> Unit[list[Any]]:
    """One batch in one write transaction: read the rows, rotate each; the rows read."""

    async def unit(tx: Tx) -> list[Any]:
        rows = await tx.all(query)
        for row in rows:
            values = tuple(row[: len(key)])
            await _rotate_row(tx, cipher, table, key, values, row.email_enc, count)
        return rows

    return unit


async def _rotate_row(
    tx: Tx,
    cipher: EmailCipher,
    table: sa.Table,
    key: tuple[sa.Column[Any], ...],
    values: tuple[Any, ...],
    token: str,
    count: RotationCount,
) -> None:
    if cipher.is_current(token):
        count.current += 1
        return
    try:
        rotated = cipher.rotate(token)
    except ValueError:
        count.unreadable += 1
        return
    await tx.run(
        sa.update(table)
        .where(*(column == value for column, value in zip(key, values, strict=True)))
        .where(table.c.email_enc == token)
        .values(email_enc=rotated)
    )
    count.rotated += 1
