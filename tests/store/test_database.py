"""Opening a store: the executor picked from the URL, SQLite's durability, migration drivers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bridge.store.database import migration_url
from bridge.store.executor import Tx, open_database
from bridge.store.postgres_executor import PostgresDatabase
from bridge.store.sqlite_executor import SqliteDatabase

SQLITE_SYNCHRONOUS = {"FULL": 2, "NORMAL": 1}
"""PRAGMA synchronous answers with a number."""


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///x.db", "sqlite+pysqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_migrations_get_a_driver_from_a_plain_url(url: str, driver: str) -> None:
    assert migration_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "executor"),
    [
        ("sqlite:///x.db", SqliteDatabase),
        ("postgresql://u@h/db", PostgresDatabase),
        ("postgresql+asyncpg://u@h/db", PostgresDatabase),
    ],
)
def test_the_url_picks_the_executor(url: str, executor: type) -> None:
    assert isinstance(open_database(url), executor)


@pytest.mark.parametrize("level", sorted(SQLITE_SYNCHRONOUS))
async def test_sqlite_writes_with_the_configured_synchronous_level(
    tmp_path: Path, level: str
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=level)

    async def unit(tx: Tx) -> object:
        return await tx.scalar(sa.text("PRAGMA synchronous"))

    try:
        answers = {await db.write(unit), await db.read(unit)}
    finally:
        await db.close()
    assert answers == {SQLITE_SYNCHRONOUS[level]}
