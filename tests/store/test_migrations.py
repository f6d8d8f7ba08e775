"""Migrations: every revision upgrades, downgrades and upgrades again, on both engines."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bridge.store.database import run_on_connection
from bridge.store.migrate import alembic_config, downgrade, upgrade_async
from bridge.store.tables import metadata

pytestmark = pytest.mark.both_engines


def revisions(url: str) -> list[tuple[str, str]]:
    """(revision, its down revision or "base"), oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    walked = list(script.walk_revisions("base", "heads"))
    return [(rev.revision, str(rev.down_revision or "base")) for rev in reversed(walked)]


async def table_names(url: str) -> set[str]:
    names: list[str] = []
    await run_on_connection(url, lambda sync: names.extend(sa.inspect(sync).get_table_names()))
    return set(names) - {"alembic_version"}


async def schema_differences(url: str) -> list[object]:
    found: list[object] = []
    await run_on_connection(
        url,
        lambda sync: found.extend(
            compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        ),
    )
    return found


def test_there_is_one_head(empty_database_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_database_url))
    assert len(script.get_heads()) == 1


async def test_every_revision_goes_up_down_and_up_again(empty_database_url: str) -> None:
    for revision, previous in revisions(empty_database_url):
        await upgrade_async(empty_database_url, revision)
        await asyncio.to_thread(downgrade, empty_database_url, previous)
        await upgrade_async(empty_database_url, revision)
    assert await schema_differences(empty_database_url) == []


async def test_head_creates_exactly_the_tables_module(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    assert await schema_differences(empty_database_url) == []


async def test_downgrade_to_base_removes_every_table(empty_database_url: str) -> None:
    await upgrade_async(empty_database_url)
    await asyncio.to_thread(downgrade, empty_database_url, "base")
    assert await table_names(empty_database_url) == set()
