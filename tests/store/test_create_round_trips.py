"""What a local create costs the store, on both engines (docs/performance.md, issue 15).

A create reads the customer and the offer in one statement (one read unit: one connection
checked out on PostgreSQL, one round trip), then places the order in one write: on SQLite
one unit of work on the writer thread (one transaction), on PostgreSQL one statement
(`bridge_place_order()`, no BEGIN or COMMIT), so every statement is one round trip. A keyed
create adds the key's lookup before and its answer after (one statement each), and nothing
else: the claim and the order's name on it travel inside the placement. On PostgreSQL the
round trips are counted on the connections themselves (asyncpg's per-connection query
count), so a BEGIN, a COMMIT or a pool reset on checkout would show.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.runtime.health import DATABASE
from bridge.store.executor import Database
from bridge.store.postgres_executor import PostgresDatabase
from bridge.store.sqlite_executor import SqliteDatabase
from tests.conftest import PREFIX, basic_auth

CREATE = f"{PREFIX}/users/demo-user-1/offers/1/orders"
ONE = {"order": {"quantity": 1}}


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    """Every statement sent, in order (each one round trip outside a write unit)."""
    units: int = 0
    """Write units (`Database.write`): a transaction each (BEGIN and COMMIT on PostgreSQL;
    SQLite's `write_one` is one too)."""
    single: int = 0
    """Writes of one statement (`Database.write_one`): no BEGIN or COMMIT."""
    reads: int = 0
    """Read units (`Database.read`): one connection checked out of the pool each on
    PostgreSQL."""


@contextmanager
def counted(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cost]:
    cost = Cost()
    read, write, write_one = db.read, db.write, db.write_one

    async def counted_read(unit: Any) -> Any:
        cost.reads += 1
        return await read(unit)

    async def counted_write(unit: Any) -> Any:
        cost.units += 1
        return await write(unit)

    async def counted_write_one(statement: Any, params: Any = None) -> Any:
        cost.single += 1
        return await write_one(statement, params)

    db.listeners.append(cost.statements.append)
    with monkeypatch.context() as patch:
        patch.setattr(db, "read", counted_read)
        patch.setattr(db, "write", counted_write)
        patch.setattr(db, "write_one", counted_write_one)
        try:
            yield cost
        finally:
            db.listeners.remove(cost.statements.append)


async def round_trips(db: Database) -> int:
    """Queries sent so far on the pool's connections (PostgreSQL; 0 on SQLite)."""
    if not isinstance(db, PostgresDatabase):
        return 0
    holders = (await db.pool())._holders  # asyncpg keeps no public per-pool count
    return sum(h._con._protocol.queries_count for h in holders if h._con is not None)


async def create(client: TestClient[Any, Any], key: str | None) -> None:
    headers = basic_auth() | ({"Idempotency-Key": key} if key else {})
    answer = await client.post(CREATE, json=ONE, headers=headers)
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["order"]["status"] == "approved"


@pytest.mark.parametrize(("key", "single_writes", "reads"), [(None, 0, 1), ("k-1", 1, 2)])
async def test_a_local_create_is_one_read_and_one_write(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    engine_name: str,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    single_writes: int,
    reads: int,
) -> None:
    client = await bridge_client()
    db: Database = client.app[DATABASE]
    await create(client, None)  # warm-up: the customer and offer caches, the pool
    batches = db.writer.batches if isinstance(db, SqliteDatabase) else 0
    sent = await round_trips(db)
    with counted(db, monkeypatch) as cost:
        await create(client, key)
    sent = await round_trips(db) - sent
    placement = [sql for sql in cost.statements if "bridge_place_order" in sql]
    assert cost.reads == reads, cost  # the customer and the offer: one read, one statement
    if engine_name == "postgresql":  # the order in one statement: one round trip
        assert (cost.units, cost.single) == (0, 1 + single_writes), cost
        assert len(placement) == 1
        assert len(cost.statements) == reads + 1 + single_writes, cost.statements
        assert sent == len(cost.statements)
    else:  # the order in one transaction on the writer thread, the answer in another
        assert isinstance(db, SqliteDatabase)
        assert db.writer.batches - batches == 1 + single_writes, cost
        assert placement == []
