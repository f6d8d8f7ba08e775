"""The SQLAlchemy engine that alembic's migrations run on (never the request path).

The request path runs on the executors (bridge/store/executor.py). Migrations keep
SQLAlchemy and alembic: on SQLite a synchronous `pysqlite` engine, on PostgreSQL the asyncpg
dialect (alembic's operations are synchronous, so they run through `run_sync`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


def migration_url(url: str) -> sa.URL:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the migration driver."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    return parsed.set(drivername="postgresql+asyncpg")


async def run_on_connection(url: str, work: Callable[[sa.Connection], Any]) -> None:
    """Run `work(connection)` on a fresh connection to `url` and commit."""
    target = migration_url(url)
    if target.get_backend_name() == "sqlite":
        engine = sa.create_engine(target, poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                work(connection)
                connection.commit()
        finally:
            engine.dispose()
        return
    async_engine = create_async_engine(target, poolclass=sa.NullPool)
    try:
        async with async_engine.connect() as async_connection:
            await async_connection.run_sync(work)
            await async_connection.commit()
    finally:
        await async_engine.dispose()
