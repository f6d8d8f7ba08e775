"""Shared fixtures: a migrated store per test, the demo data, a real bridge on port 0."""

from __future__ import annotations

import base64
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.clock import Clock
from bridge.crypto import EmailCipher
from bridge.observability.logging import configure_logging
from bridge.settings import Settings, read_apps_file
from bridge.store.catalog import Catalog
from bridge.store.dataload import DataFile, load_data, read_data_file
from bridge.store.executor import open_database
from tests.clocks import ManualClock
from tests.contract import Contract, read_document
from tests.engines import ENGINES, PostgresServer, postgres_url, sqlite_database
from tests.legacy_api import LegacyApi

ROOT = Path(__file__).resolve().parent.parent
DEMO_APPS = ROOT / "demo" / "apps.yaml"
DEMO_DATA = ROOT / "demo" / "data.yaml"
API_KEY = "demo-api-key"
API_SECRET = "demo-api-secret"
PREFIX = f"/priv/v1/apps/{API_KEY}"

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def basic_auth(user: str = API_KEY, secret: str = API_SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def email_key() -> str:
    return Fernet.generate_key().decode()


POSTGRES = PostgresServer(postgres_url())


BOTH_ENGINES_PACKAGES = ("tests.store.", "tests.orders.", "tests.proofs.")
"""The store, order-service and proof tests: every one that uses a database runs on both."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Database tests in BOTH_ENGINES_PACKAGES, or marked `both_engines`, run on SQLite and
    on PostgreSQL; every other test runs on SQLite only (tests/README.md)."""
    marked = metafunc.definition.get_closest_marker("both_engines") is not None
    in_package = metafunc.module.__name__.startswith(BOTH_ENGINES_PACKAGES)
    if (marked or in_package) and "engine_name" in metafunc.fixturenames:
        metafunc.parametrize("engine_name", ENGINES)


@pytest.fixture
def engine_name() -> str:
    """The store engine of a test: SQLite, unless the test is marked `both_engines`."""
    return "sqlite"


@pytest.fixture
async def database_url(engine_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for one test (tests/engines.py)."""
    async for url in _fresh_database(engine_name, tmp_path, migrated=True):
        yield url


@pytest.fixture
async def empty_database_url(engine_name: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database with no schema at all, for migration tests."""
    async for url in _fresh_database(engine_name, tmp_path, migrated=False):
        yield url


@pytest.fixture(scope="session", autouse=True)
def _production_logging() -> None:
    """Log as `serve` does (JSON lines), uncached so that capture_logs still works.

    Unconfigured, structlog renders exceptions with rich and their locals, which turns one
    logged 500 into tens of seconds.
    """
    configure_logging(log_format="json", cache_loggers=False)


@pytest.fixture(autouse=True)
def _cli_keeps_test_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run in this process (`bridge.cli.main`) keeps the logging set up above: its
    own configure_logging caches loggers on first use, and a cached logger escapes every
    later test's capture_logs (the order tests happen to run in decided which failed)."""
    monkeypatch.setattr("bridge.cli.configure_logging", lambda *args, **kwargs: None)


@pytest.fixture(scope="session", autouse=True)
def _postgres_schemas() -> Iterator[None]:
    """Drop every PostgreSQL schema the session built when it ends."""
    yield
    POSTGRES.close()


async def _fresh_database(
    engine_name: str, directory: Path, *, migrated: bool
) -> AsyncIterator[str]:
    if engine_name == "sqlite":
        yield await sqlite_database(directory, migrated=migrated)
        return
    url = await POSTGRES.create(migrated=migrated)
    yield url
    await POSTGRES.drop(url)


@pytest.fixture
def make_settings(database_url: str, email_key: str) -> Callable[..., Settings]:
    """Settings for the demo apps on the test's database; keyword overrides win."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "apps": read_apps_file(DEMO_APPS),
            "email_keys": (email_key,),
        }
        values.update(overrides)
        return Settings(**values)

    return build


@functools.cache
def demo_data_file() -> DataFile:
    """demo/data.yaml, parsed once per test process (frozen models; ~40 ms a parse)."""
    return read_data_file(DEMO_DATA)


async def load_demo(database_url: str, email_key: str) -> None:
    """Load demo/data.yaml into the database at `database_url`."""
    engine = open_database(database_url)
    try:
        await load_data(Catalog(engine, EmailCipher([email_key])), demo_data_file())
    finally:
        await engine.close()


@pytest.fixture
async def demo_data(database_url: str, email_key: str) -> None:
    await load_demo(database_url, email_key)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def bridge_client(
    make_settings: Callable[..., Settings],
    registry: CollectorRegistry,
    demo_data: None,
    aiohttp_client: ClientFactory,
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    """Start a real bridge (demo apps and data) on port 0; keyword overrides go to Settings.

    `aiohttp_client` comes last so that the bridge closes before the database is dropped.
    """

    async def start(clock: Clock | None = None, **overrides: Any) -> TestClient[Any, Any]:
        app = create_app(make_settings(**overrides), registry=registry, clock=clock)
        return await aiohttp_client(app)

    return start


@pytest.fixture
async def client(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    return await bridge_client()


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The OpenAPI document every legacy answer in the tests is validated against."""
    return Contract(read_document())


@pytest.fixture
def start_api(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]], contract: Contract
) -> Callable[..., Awaitable[LegacyApi]]:
    """Start a real bridge (as bridge_client) and call it as an integrator would."""

    async def start(**overrides: Any) -> LegacyApi:
        client = await bridge_client(**overrides)
        return LegacyApi(client, contract, API_KEY, tuple(basic_auth().items()))

    return start


@pytest.fixture
async def api(start_api: Callable[..., Awaitable[LegacyApi]]) -> LegacyApi:
    """The legacy surface of a bridge with the demo apps and data."""
    return await start_api()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed_api(
    start_api: Callable[..., Awaitable[LegacyApi]], clock: ManualClock
) -> LegacyApi:
    """The legacy surface of a bridge whose clock stands still until the test moves it."""
    return await start_api(clock=clock)
