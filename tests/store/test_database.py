"""Engine construction: drivers picked from plain URLs, SQLite's durability and pool sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.store.database import async_url, create_engine

SQLITE_SYNCHRONOUS = {"FULL": 2, "NORMAL": 1}
"""PRAGMA synchronous answers with a number."""


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_a_plain_url_gets_the_async_driver(url: str, driver: str) -> None:
    assert async_url(url).drivername == driver


@pytest.mark.parametrize("level", sorted(SQLITE_SYNCHRONOUS))
async def test_sqlite_runs_with_the_configured_synchronous_level(
    tmp_path: Path, level: str
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous=level)
    try:
        async with engine.connect() as conn:
            answer = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
    finally:
        await engine.dispose()
    assert answer == SQLITE_SYNCHRONOUS[level]


async def test_a_postgresql_pool_has_the_configured_size() -> None:
    engine = create_engine("postgresql://u@127.0.0.1/db", pool_size=3, max_overflow=2)
    try:
        assert engine.pool.status().startswith("Pool size: 3 ")
    finally:
        await engine.dispose()
