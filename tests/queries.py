"""Reading a test's database directly, through the store's own executor (bridge/store)."""

from __future__ import annotations

from typing import Any

from bridge.store.executor import Statement, open_database, read_all, read_value


async def rows_at(url: str, statement: Statement) -> list[Any]:
    """Every row `statement` reads from the database at `url`."""
    db = open_database(url)
    try:
        return await read_all(db, statement)
    finally:
        await db.close()


async def value_at(url: str, statement: Statement) -> Any:
    """The first column of the first row `statement` reads from the database at `url`."""
    db = open_database(url)
    try:
        return await read_value(db, statement)
    finally:
        await db.close()
