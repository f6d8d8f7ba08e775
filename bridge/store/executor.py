"""The store's one execution path: units of work run by an executor per engine.

A unit of work is `async def unit(tx) -> T`: the statements of one transaction, nothing
else (no other await inside it). It runs in its caller's context on both engines (context
variables such as the idempotency claim a keyed write holds: bridge/store/idempotency.py).
Repositories (ledger, catalog, outbox, ...) write their operations as units and hand them to
the `Database` that `create_app` built:

- `await db.read(unit)`: a read-only unit.
- `await db.write(unit)`: a unit in one write transaction: it commits entirely or not at
  all. A caller cancelled while it runs (client gone, shutdown) does not cut it short; the
  unit commits (or fails) as a whole (shielded on PostgreSQL; on SQLite the writer thread
  holds the unit whatever becomes of its caller).

Two executors, chosen by the URL (`open_database`):

- SQLite (`sqlite_executor.py`) on the standard library's `sqlite3`: reads run inline on the
  event loop's thread (WAL: a reader never waits); writes go to one writer thread that
  group-commits the units that arrive together, each in its own savepoint, one `fsync`.
  A `tx` call on SQLite completes without suspending, which is how the writer thread drives a
  unit (`coroutine.send(None)`).
- PostgreSQL (`postgres_executor.py`) on `asyncpg`: a pool; asyncpg prepares each statement
  once per connection and keeps it.

The SQL is SQLAlchemy Core compiled once per engine (`statements.py`). Exception tree::

    StoreError
     +-- IntegrityError      a constraint refused a row (unique key, check, foreign key)
     +-- RefusedError        a store function refused (PostgreSQL SQLSTATE class BR)
     +-- UnitAwaitedError    a unit awaited something other than its own statements
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa

from bridge.store.statements import Params, Query

T = TypeVar("T")
Statement = Query | sa.Executable


class StoreError(Exception):
    """Root of the store's own errors."""


class IntegrityError(StoreError):
    """A constraint refused the statement (the driver's error is the cause)."""

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint
        """The constraint's name where the driver tells it (PostgreSQL)."""


class RefusedError(StoreError):
    """A store function refused the write (bridge/store/migrations 0008, 0011): `code` is
    the SQLSTATE (BR001 no points, BR002 a taken external id, BR003 no stock), the message
    its own."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnitAwaitedError(StoreError):
    """A SQLite unit awaited something that is not one of its statements."""


class Tx(Protocol):
    """One transaction's statements, as a unit of work sees them."""

    engine: str
    """`sqlite` or `postgresql`, for the few statements that differ."""

    async def all(self, statement: Statement, params: Params | None = None) -> list[Any]: ...

    async def first(self, statement: Statement, params: Params | None = None) -> Any: ...

    async def scalar(self, statement: Statement, params: Params | None = None) -> Any: ...

    async def run(self, statement: Statement, params: Params | None = None) -> int:
        """Execute; the number of rows it changed."""
        ...

    async def script(self, sql: str) -> None:
        """Raw SQL without parameters (DDL)."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: an exception inside rolls back to it, and propagates."""
        ...


Unit = Callable[[Tx], Awaitable[T]]
Listener = Callable[[str], None]


class Database(Protocol):
    """An executor: where units of work run (built once, by create_app or a command)."""

    engine: str
    listeners: list[Listener]
    """Called with each statement's SQL before it runs (tests count statements with it)."""

    async def read(self, unit: Unit[T]) -> T: ...

    async def write(self, unit: Unit[T]) -> T: ...

    async def write_one(self, statement: Statement, params: Params | None = None) -> list[Any]:
        """One statement as a write of its own; its rows. A statement is atomic by itself, so
        PostgreSQL runs it without BEGIN and COMMIT: one round trip."""
        ...

    async def close(self) -> None: ...


def is_sqlite_url(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def open_database(
    url: str, *, pool_size: int = 5, max_overflow: int = 5, sqlite_synchronous: str = "FULL"
) -> Database:
    """The executor for `url` (`sqlite:///path` or `postgresql://...`); connects lazily."""
    if is_sqlite_url(url):
        from bridge.store.sqlite_executor import SqliteDatabase

        path = sa.make_url(url).database or ":memory:"
        return SqliteDatabase(path, synchronous=sqlite_synchronous)
    from bridge.store.postgres_executor import PostgresDatabase

    return PostgresDatabase(url, max_size=pool_size + max_overflow)


async def read_one(db: Database, statement: Statement, params: Params | None = None) -> Any:
    """The first row of one read statement, or None."""

    async def unit(tx: Tx) -> Any:
        return await tx.first(statement, params)

    return await db.read(unit)


async def read_all(db: Database, statement: Statement, params: Params | None = None) -> list[Any]:
    """Every row of one read statement."""

    async def unit(tx: Tx) -> list[Any]:
        return await tx.all(statement, params)

    return await db.read(unit)


async def read_value(db: Database, statement: Statement, params: Params | None = None) -> Any:
    """The first column of the first row of one read statement, or None."""

    async def unit(tx: Tx) -> Any:
        return await tx.scalar(statement, params)

    return await db.read(unit)


async def change(db: Database, statement: Statement, params: Params | None = None) -> int:
    """One statement in its own write transaction; the number of rows it changed."""

    async def unit(tx: Tx) -> int:
        return await tx.run(statement, params)

    return await db.write(unit)


async def change_returning(db: Database, statement: Statement, params: Params | None = None) -> Any:
    """One statement with RETURNING as a write of its own; its first row, or None."""
    found = await db.write_one(statement, params)
    return found[0] if found else None
