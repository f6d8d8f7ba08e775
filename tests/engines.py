"""Fresh databases for tests, on SQLite or PostgreSQL (how to run: tests/README.md).

PostgreSQL is found through `BRIDGE_TEST_POSTGRES_URL` (default: the local server, database
`test`). Each test gets a fresh schema of its own in that database, owned by a login role of
the same name: PostgreSQL's default `search_path` ("$user", public) makes the role's schema
the one every unqualified table name resolves to, so the test's URL (`postgresql://ROLE@...`)
is all the bridge needs, in-process or in a subprocess. The schema is built by the migrations'
SQL (alembic `--sql`), rendered once per session, and built ahead of time by a background
thread (SchemaBuilder) so that tests rarely wait for one. The role and its schema are
dropped after the test, off the test's clock. Where the server is unreachable the test is
skipped with the reason, except under CI (`CI=true`), where it fails.
"""

from __future__ import annotations

import asyncio
import io
import os
import queue
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command

from bridge.store.migrate import alembic_config, upgrade_async

ENGINES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROLE_PREFIX = "bridge_test_"
AHEAD = 4
"""How many migrated schemas the builder keeps ready (or in the making)."""
BUILDERS = 2
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def postgres_url() -> sa.URL:
    return sa.make_url(os.environ.get("BRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


def _dsn(url: sa.URL, user: str | None = None) -> str:
    """An asyncpg DSN for `url`, as another (password-less, trusted) role when named."""
    target = url.set(drivername="postgresql")
    if user is not None:
        target = target.set(username=user, password=None)
    return target.render_as_string(hide_password=False)


def migrations_sql(url: sa.URL) -> str:
    """The SQL of every migration up to head, for PostgreSQL (alembic offline mode)."""
    config = alembic_config(_dsn(url))
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    return config.output_buffer.getvalue()


class PostgresServer:
    """The test server: reachability (checked once), and a role with its schema per test."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        self._problem: str | None = None
        self._checked = False
        self._schema_sql: str | None = None
        self._builder: SchemaBuilder | None = None

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
        """A fresh role and schema (migrated to head, or empty); the URL that logs in as it."""
        await self.require()
        if not migrated:
            return await self.new_schema(migrated=False)
        if self._builder is None:
            self._builder = SchemaBuilder(self)
            self._builder.start()
        return await asyncio.to_thread(self._builder.take)

    async def drop(self, url: str) -> None:
        """Hand a used schema to the builder thread, which drops it off the test's clock."""
        if self._builder is not None:
            self._builder.used.put(url)
        else:
            await self.drop_now(url)

    def close(self) -> None:
        """End of session: drop every schema built or used (nothing is left on the server)."""
        if self._builder is not None:
            self._builder.stop()
            self._builder = None

    async def new_schema(self, *, migrated: bool) -> str:
        role = f"{ROLE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
        await self._admin(
            f'CREATE ROLE "{role}" LOGIN', f'CREATE SCHEMA "{role}" AUTHORIZATION "{role}"'
        )
        url = _dsn(self.url, role)
        if migrated:
            if self._schema_sql is None:
                self._schema_sql = migrations_sql(self.url)
            connection = await asyncpg.connect(url, timeout=30)
            try:
                await connection.execute(self._schema_sql)
            finally:
                await connection.close()
        return url

    async def drop_now(self, url: str) -> None:
        """Drop the role's schema and the role, ending any session it left open."""
        role = sa.make_url(url).username
        connection = await asyncpg.connect(_dsn(self.url), timeout=30)
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
            )
        finally:
            await connection.close()
        await self._admin(
            f'DROP SCHEMA IF EXISTS "{role}" CASCADE', f'DROP ROLE IF EXISTS "{role}"'
        )

    async def drop_abandoned(self) -> None:
        """Drop schemas left by test sessions that died (their process is gone).

        Only for a server on this machine, where a role's pid names a local process.
        """
        if self.url.host not in LOCAL_HOSTS:
            return
        connection = await asyncpg.connect(_dsn(self.url), timeout=30)
        try:
            roles = await connection.fetch(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"{ROLE_PREFIX}%"
            )
        finally:
            await connection.close()
        for (role,) in roles:
            pid = role.removeprefix(ROLE_PREFIX).split("_", 1)[0]
            if pid.isdigit() and not _process_alive(int(pid)):
                await self.drop_now(_dsn(self.url, role))

    async def _admin(self, *statements: str) -> None:
        connection = await asyncpg.connect(_dsn(self.url), timeout=30)
        try:
            async with connection.transaction():
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await connection.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SchemaBuilder(threading.Thread):
    """Builds migrated schemas ahead of the tests that take them, and drops used ones.

    Creating tables costs the server tens of milliseconds per table (file creation and
    fsync), about half a second per schema here; done in this thread while earlier tests run,
    it is mostly off the suite's clock. Every schema is still used by one test only.
    """

    def __init__(self, server: PostgresServer) -> None:
        super().__init__(name="postgres-schema-builder", daemon=True)
        self._server = server
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=AHEAD)
        self.used: queue.Queue[str] = queue.Queue()
        self._stopping = threading.Event()
        self._built_all = threading.Event()
        self._building = 0

    def take(self) -> str:
        """The next fresh schema's URL (waits for one to be built)."""
        built = self._ready.get(timeout=120)
        if isinstance(built, BaseException):
            raise built
        return built

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=120)

    def run(self) -> None:
        asyncio.run(self._work())

    async def _work(self) -> None:
        """Two builders and one dropper, concurrently: the server overlaps their file work."""
        await self._server.drop_abandoned()
        builders = [asyncio.create_task(self._build()) for _ in range(BUILDERS)]
        dropper = asyncio.create_task(self._drop())
        await asyncio.gather(*builders)
        while not self._ready.empty():
            built = self._ready.get_nowait()
            if isinstance(built, str):
                self.used.put(built)
        self._built_all.set()
        await dropper

    async def _build(self) -> None:
        while not self._stopping.is_set():
            if self._ready.qsize() + self._building >= AHEAD:
                await asyncio.sleep(0.02)
                continue
            self._building += 1
            try:
                built: str | BaseException = await self._server.new_schema(migrated=True)
            except Exception as exc:  # handed to the test that waits for the schema
                built = exc
            self._ready.put_nowait(built)
            self._building -= 1

    async def _drop(self) -> None:
        while not (self._built_all.is_set() and self.used.empty()):
            if self.used.empty():
                await asyncio.sleep(0.02)
            else:
                await self._server.drop_now(self.used.get_nowait())


_SQLITE_TEMPLATE: list[Path] = []
"""The migrated SQLite file of this test process, built once and copied for every test."""


async def sqlite_database(directory: Path, *, migrated: bool, name: str = "bridge.db") -> str:
    """A fresh SQLite file: a copy of a once-migrated template (migrating costs ~0.2 s)."""
    path = directory / name
    if migrated:
        shutil.copyfile(await _sqlite_template(), path)
    return f"sqlite:///{path}"


async def _sqlite_template() -> Path:
    if not _SQLITE_TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="bridge-template-")) / "bridge.db"
        await upgrade_async(f"sqlite:///{template}")
        _SQLITE_TEMPLATE.append(template)
    return _SQLITE_TEMPLATE[0]
