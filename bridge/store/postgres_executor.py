"""The PostgreSQL executor, on `asyncpg` (bridge/store/executor.py).

A pool of connections, opened at the first unit. asyncpg prepares each statement once per
connection and keeps it (its statement cache), so a statement's plan is built once. A read
unit runs on a pooled connection as it is; a write unit in one transaction. The JSON
columns are encoded and decoded by a codec installed on each connection.

A connection goes back to the pool without asyncpg's reset query (`RESET ALL`, `UNLISTEN *`,
`CLOSE ALL`, `pg_advisory_unlock_all()`: one more round trip per checkout, as many as the
statements of a read): the store sets no session state, opens no cursor, listens to nothing
and takes only transaction-level advisory locks, so there is nothing to reset. A connection
returned inside a transaction (a unit cut short) is still rolled back by the pool.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import sqlalchemy as sa

from bridge.store.executor import IntegrityError, Listener, RefusedError, Statement, Unit
from bridge.store.statements import POSTGRESQL, Params, compiled_for

T = TypeVar("T")


def dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy-style URL (`postgresql+asyncpg://` is accepted)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """The pool's reset: the store leaves no session state behind (module docstring)."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


BRIDGE_SQLSTATE_CLASS = "BR"


@contextmanager
def _translated() -> Iterator[None]:
    """The driver's refusals as the store's own errors."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        constraint = getattr(exc, "constraint_name", None)  # the message may quote values
        raise IntegrityError(f"constraint {constraint} refused the row", constraint) from exc
    except asyncpg.PostgresError as exc:
        if not str(exc.sqlstate or "").startswith(BRIDGE_SQLSTATE_CLASS):
            raise
        raise RefusedError(exc.sqlstate, exc.message) from exc


class PostgresTx:
    """A unit's statements on one asyncpg connection."""

    engine = POSTGRESQL

    def __init__(self, conn: asyncpg.Connection, listeners: list[Listener]) -> None:
        self._conn = conn
        self._listeners = listeners

    def _prepare(self, statement: Statement, params: Params | None) -> tuple[Any, Sequence[Any]]:
        compiled = compiled_for(statement, POSTGRESQL, params)
        for listener in self._listeners:
            listener(compiled.sql)
        return compiled, compiled.args(params)

    async def all(self, statement: Statement, params: Params | None = None) -> list[Any]:
        compiled, args = self._prepare(statement, params)
        with _translated():
            records = await self._conn.fetch(compiled.sql, *args)
        make = compiled.row
        return [make(record) for record in records] if make else list(records)

    async def first(self, statement: Statement, params: Params | None = None) -> Any:
        found = await self.all(statement, params)
        return found[0] if found else None

    async def scalar(self, statement: Statement, params: Params | None = None) -> Any:
        row = await self.first(statement, params)
        return None if row is None else row[0]

    async def run(self, statement: Statement, params: Params | None = None) -> int:
        compiled, args = self._prepare(statement, params)
        with _translated():
            status = await self._conn.execute(compiled.sql, *args)
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def script(self, sql: str) -> None:
        for listener in self._listeners:
            listener(sql)
        await self._conn.execute(sql)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        async with self._conn.transaction():
            yield


class PostgresDatabase:
    """A pool of asyncpg connections; units run on one of them."""

    engine = POSTGRESQL

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self._dsn = dsn(url)
        self._max_size = max_size
        self.listeners: list[Listener] = []
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._closed = False

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._closed:  # a late unit (a background task) must not open a new pool
                    raise asyncpg.InterfaceError("the database is closed")
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._max_size,
                        init=_init_connection,
                        reset=_nothing_to_reset,
                    )
        return self._pool

    async def read(self, unit: Unit[T]) -> T:
        async with (await self.pool()).acquire() as conn:
            return await unit(PostgresTx(conn, self.listeners))

    async def write(self, unit: Unit[T]) -> T:
        return await asyncio.shield(self._write(unit))

    async def _write(self, unit: Unit[T]) -> T:
        async with (await self.pool()).acquire() as conn, conn.transaction():
            return await unit(PostgresTx(conn, self.listeners))

    async def write_one(self, statement: Statement, params: Params | None = None) -> list[Any]:
        return await asyncio.shield(self._write_one(statement, params))

    async def _write_one(self, statement: Statement, params: Params | None) -> list[Any]:
        async with (await self.pool()).acquire() as conn:  # autocommit: no BEGIN, no COMMIT
            return await PostgresTx(conn, self.listeners).all(statement, params)

    async def close(self) -> None:
        """Close the pool (once its connections are back), even one still being opened."""
        async with self._opening:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
