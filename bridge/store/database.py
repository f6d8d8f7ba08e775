"""Engine construction: URL normalisation, SQLite pragmas and BEGIN IMMEDIATE for writers.

Every engine hides bound parameters from its exceptions (`hide_parameters`): a statement's
values are what clients sent, and exceptions end in logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bridge.store import sqlite_driver, units
from bridge.store.sqlite_driver import LoopConnection

WRITE = {"bridge_write": True}
"""Execution options for a connection that will write: on SQLite it begins IMMEDIATE."""


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction (BEGIN IMMEDIATE on SQLite), committed on exit."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**WRITE)
        async with conn.begin():
            yield conn


async def dispose(engine: AsyncEngine) -> None:
    """Close every connection of `engine`, its synchronous SQLite engines included."""
    units.detach(engine)
    await engine.dispose()


def async_url(url: str) -> sa.URL:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async driver."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+asyncpg")
    return parsed


def unreachable(exc: BaseException) -> bool:
    """The store could not be reached (refused, timed out, dropped), not a bad statement."""
    if isinstance(exc, OSError | sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError)
    return False


def refusal_of(exc: BaseException) -> bool:
    """The store refused a value (a NUL in text, a number out of its range): SQLAlchemy's
    DataError, or a driver error of SQLSTATE class 22 ("data exception")."""
    if isinstance(exc, sa.exc.DataError):
        return True
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(exc, sa.exc.DBAPIError) and str(code or "").startswith("22")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 5, sqlite_synchronous: str = "FULL"
) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() != "sqlite":
        return create_async_engine(
            target,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            hide_parameters=True,
        )
    if target.database in (None, "", ":memory:"):
        engine = create_async_engine(target, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine.sync_engine, sqlite_synchronous)
        return engine
    engine = create_async_engine(
        target,
        async_creator=_loop_connection(target.database),
        pool_size=pool_size,
        max_overflow=max_overflow,
        hide_parameters=True,
    )
    _configure_sqlite(engine.sync_engine, sqlite_synchronous)
    direct = [_sqlite_sync_engine(target.database, sqlite_synchronous) for _ in ("read", "write")]
    units.attach(engine, *direct)
    return engine


def _sqlite_sync_engine(path: str, synchronous: str) -> sa.Engine:
    """A synchronous engine on the same file, for units of work (bridge/store/units.py)."""
    engine = sa.create_engine(
        sa.URL.create("sqlite+pysqlite", database=path),
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=2,
        max_overflow=4,
        hide_parameters=True,
    )
    _configure_sqlite(engine, synchronous)
    return engine


def _loop_connection(path: str) -> Callable[[], Awaitable[LoopConnection]]:
    """Connections that run their short calls on the loop's thread (bridge/store/sqlite_driver)."""
    connect = sqlite_driver.connector(path, timeout=30)

    async def create() -> LoopConnection:
        return await LoopConnection(connect)

    return create


def _configure_sqlite(engine: sa.Engine, synchronous: str) -> None:
    """WAL, durable sync, foreign keys, and explicit BEGIN (IMMEDIATE for writers).

    pysqlite's own transaction handling is switched off so that SQLAlchemy's `begin`
    event decides how a transaction starts (SQLAlchemy's documented recipe).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("bridge_write", False)
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        finally:
            cursor.close()
