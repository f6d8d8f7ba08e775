"""Alembic environment: runs migrations on a SQLAlchemy connection (bridge/store/database.py).

Offline (`--sql`) mode writes the SQL instead; the tests use it to build PostgreSQL schemas fast.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy import Connection

from bridge.store.database import run_on_connection
from bridge.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Pods starting together (the Deployment's init containers) migrate one at a time;
            # the lock goes with the transaction.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7262051813)"))
        context.run_migrations()


async def _run_async() -> None:
    await run_on_connection(config.get_main_option("sqlalchemy.url") or "", _run)


def _run_offline() -> None:
    """`--sql` mode: write the migrations' SQL for the URL's dialect instead of running it."""
    url = sa.make_url(config.get_main_option("sqlalchemy.url") or "")
    context.configure(
        dialect_name=url.get_backend_name(),
        target_metadata=metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    asyncio.run(_run_async())
