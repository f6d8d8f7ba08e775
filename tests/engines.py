"""Fresh databases for tests, on SQLite or PostgreSQL (how to run: tests/README.md).

PostgreSQL is found through `BRIDGE_TEST_POSTGRES_URL` (default: the local server, database
`test`). Each test gets its own database, copied from a template that is migrated once per
session (CREATE DATABASE ... TEMPLATE is far faster than running the migrations per test),
and dropped after the test. Where the server is unreachable the test is skipped with the
reason, except under CI (`CI=true`), where it fails.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa

from bridge.store.migrate import upgrade_async

ENGINES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEMPLATE_PREFIX = "bridge_template_"


def postgres_url() -> sa.URL:
    return sa.make_url(os.environ.get("BRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


def _dsn(url: sa.URL, database: str | None = None) -> str:
    """An asyncpg DSN for `url`, on another database when named."""
    target = url.set(drivername="postgresql", database=database or url.database)
    return target.render_as_string(hide_password=False)


class PostgresServer:
    """The test server: reachability (checked once) and databases created per test."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        self._problem: str | None = None
        self._checked = False
        self._template: str | None = None

    async def require(self) -> None:
        """Skip (or, under CI, fail) the calling test when the server cannot be used."""
        if not self._checked:
            self._checked = True
            try:
                connection = await asyncpg.connect(_dsn(self.url), timeout=5)
                await connection.close()
            except (OSError, asyncpg.PostgresError) as exc:
                self._problem = f"{type(exc).__name__}: {exc}"
        if self._problem is None:
            return
        where = self.url.render_as_string(hide_password=True)
        reason = (
            f"PostgreSQL unreachable at {where} ({self._problem}); "
            "set BRIDGE_TEST_POSTGRES_URL or start the server (.ci/run does)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    async def create(self, *, migrated: bool) -> str:
        """A new database (migrated to head, or empty); its SQLAlchemy URL."""
        await self.require()
        name = f"bridge_test_{uuid.uuid4().hex[:16]}"
        template = await self._migrated_template() if migrated else "template0"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return _dsn(self.url, name)

    async def drop(self, url: str) -> None:
        name = sa.make_url(url).database
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def drop_template(self) -> None:
        if self._template is not None:
            await self._admin(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
            self._template = None

    async def _migrated_template(self) -> str:
        if self._template is None:
            name = f"{TEMPLATE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
            await upgrade_async(_dsn(self.url, name))
            self._template = name
        return self._template

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(_dsn(self.url), timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


async def sqlite_database(directory: Path, *, migrated: bool) -> str:
    url = f"sqlite:///{directory / 'bridge.db'}"
    if migrated:
        await upgrade_async(url)
    return url
