"""Cutover fixtures: real legacy servers on port 0 and a bridge routed by a policy file.

A "legacy server" is a second bridge app on the local target with its own database and the
demo data: it answers every legacy route exactly as the legacy API's contract says, so it is
a faithful stand-in for the real legacy Orders API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.crypto import EmailCipher
from bridge.settings import AppConfig, Settings, read_apps_file
from bridge.store.catalog import Catalog
from bridge.store.dataload import load_data, read_data_file
from bridge.store.executor import open_database
from tests.conftest import DEMO_APPS, DEMO_DATA
from tests.engines import sqlite_database

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

ServerFactory = Callable[..., Awaitable[TestServer]]


class FixedClock:
    """Every server of a comparison answers with the same timestamps."""

    def now(self) -> datetime:
        return NOW


async def fresh_store(path: Path, email_key: str, *, demo: bool = True) -> str:
    """A migrated SQLite database at `path`, with the demo data unless told otherwise."""
    url = await sqlite_database(path.parent, migrated=True, name=path.name)
    if demo:
        engine = open_database(url)
        try:
            await load_data(Catalog(engine, EmailCipher([email_key])), read_data_file(DEMO_DATA))
        finally:
            await engine.close()
    return url


def demo_apps(**overrides: Any) -> tuple[AppConfig, ...]:
    return tuple(app.model_copy(update=overrides) for app in read_apps_file(DEMO_APPS))


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """CLI tests run `main()`, which configures structlog for the process: undo it after."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def legacy_server(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path, email_key: str
) -> ServerFactory:
    """Start a legacy stand-in (a bridge on the local target, own database) on port 0."""
    count = 0

    async def start(**overrides: Any) -> TestServer:
        nonlocal count
        count += 1
        url = await fresh_store(tmp_path / f"legacy-{count}.db", email_key)
        values: dict[str, Any] = {
            "database_url": url,
            "apps": demo_apps(),
            "email_keys": (email_key,),
        }
        values.update(overrides)
        app = create_app(Settings(**values), registry=CollectorRegistry(), clock=FixedClock())
        return await aiohttp_server(app)

    return start


def write_policy(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture
def routed_bridge(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    tmp_path: Path,
    email_key: str,
    registry: CollectorRegistry,
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    """Start the bridge under test: demo apps with `legacy_base_url`, a policy file, own store.

    A second bridge in the same test shares the store (a second replica) but not the registry.
    """
    started: list[bool] = []

    async def start(
        legacy_url: str | None, policy: dict[str, Any] | None, **overrides: Any
    ) -> TestClient[Any, Any]:
        store = tmp_path / "bridge.db"
        url = f"sqlite:///{store}" if store.exists() else await fresh_store(store, email_key)
        values: dict[str, Any] = {
            "database_url": url,
            "apps": demo_apps(legacy_base_url=legacy_url),
            "email_keys": (email_key,),
            "policy_file": (
                write_policy(tmp_path / "policy.yaml", policy) if policy is not None else None
            ),
        }
        values.update(overrides)
        metrics = registry if not started else CollectorRegistry()
        started.append(True)
        app = create_app(Settings(**values), registry=metrics, clock=FixedClock())
        return await aiohttp_client(app)

    return start


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


def echo_app(
    seen: list[web.Request], body: bytes = b"plain answer", content_type: str = "text/x-legacy"
) -> web.Application:
    """An upstream that records every request it gets and answers 202 with `body`."""

    async def record(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request)
        return web.Response(body=body, status=202, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    return app
