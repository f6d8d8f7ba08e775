"""A fresh PostgreSQL database for the E arm, dropped afterwards.

The server is the one the test-suite uses (BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test); the bench creates its own database beside it.
"""

from __future__ import annotations

import asyncio
import os
import time
from types import TracebackType

import asyncpg

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresDatabase:
    def __init__(self, label: str = "") -> None:
        self.name = f"bench_{label}{os.getpid()}_{int(time.time())}"
        self.url = ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    async def _run(self, statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def __enter__(self) -> PostgresDatabase:
        asyncio.run(self._run(f'CREATE DATABASE "{self.name}"'))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        asyncio.run(self._run(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
