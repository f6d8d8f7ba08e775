"""Fixtures for the Incentives target: a real sandbox on port 0, and a bridge pointed at it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.canonical import Target
from bridge.clock import Clock
from bridge.incentives.config import BreakerPolicy, IncentivesConfig, OfferLink, RetryPolicy
from bridge.sandbox import ids
from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.config import DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET, SandboxConfig
from bridge.settings import AppConfig, Settings
from tests.conftest import load_demo
from tests.engines import sqlite_database
from tests.factories import demo_app

ServerFactory = Callable[..., Awaitable[TestServer]]

LEGACY_FACTS: dict[int, dict[str, Any]] = {
    1: {"offer_type": "reward", "review": "approve"},
    2: {"offer_type": "prize", "physical": True, "review": "review"},
    3: {"offer_type": "contest entries", "contest": True},
    4: {"offer_type": "reward"},
}
"""The demo offers' legacy-only facts (demo/data.yaml), which the id map carries."""


def demo_id_map(app: str = "demo") -> dict[int, OfferLink]:
    return {
        offer_id: OfferLink(
            reward_store_id=ids.reward_store_id(app),
            reward_store_offer_id=ids.store_offer_id(app, offer_id),
            **facts,
        )
        for offer_id, facts in LEGACY_FACTS.items()
    }


def incentives_config(url: str, **changes: Any) -> IncentivesConfig:
    """The demo app's Incentives block for a sandbox at `url`; no retry waits in tests."""
    values: dict[str, Any] = {
        "base_url": url,
        "connect_key": DEMO_CONNECT_KEY,
        "connect_secret": DEMO_CONNECT_SECRET,
        "core_api_key": "demo-core-key",
        "core_api_secret": "demo-core-secret",
        "retailer_id": ids.retailer_id("demo"),
        "offers": demo_id_map(),
        "retry": RetryPolicy(wait_initial_seconds=0, wait_max_seconds=0, wait_jitter_seconds=0),
        "breaker": BreakerPolicy(failure_threshold=5, reset_seconds=30),
    }
    values.update(changes)
    return IncentivesConfig(**values)


def incentives_app(url: str, **changes: Any) -> AppConfig:
    """The demo app on the Incentives target at `url`; `changes` go to its incentives block."""
    return demo_app(target=Target.INCENTIVES, incentives=incentives_config(url, **changes))


@pytest.fixture
async def sandbox_database(tmp_path: Path, email_key: str) -> str:
    """A fresh sandbox database with the demo data."""
    url = await sqlite_database(tmp_path, migrated=True, name="sandbox.db")
    await load_demo(url, email_key)
    return url


@pytest.fixture
def start_sandbox(
    aiohttp_server: ServerFactory, sandbox_database: str, email_key: str
) -> Callable[..., Awaitable[TestServer]]:
    """Start the sandbox on port 0; `middlewares` wrap it (e.g. to drop a connection)."""

    async def start(middlewares: Sequence[Middleware] = ()) -> TestServer:
        config = SandboxConfig.for_apps(["demo"])
        app = create_sandbox_app(config, sandbox_database, [email_key], middlewares=middlewares)
        return await aiohttp_server(app)

    return start


@pytest.fixture
async def sandbox(start_sandbox: Callable[..., Awaitable[TestServer]]) -> TestServer:
    return await start_sandbox()


def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def start_incentives_bridge(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    email_key: str,
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    """A bridge (own database with the demo data, own registry) on the Incentives target.

    Its own database, so that it can run next to a local-target bridge in one test, unless
    `database_url` names one (migrated, empty: e.g. the test's engine's, for both engines).
    `settings_overrides` go to the bridge's settings, other keywords to the incentives block.
    """

    async def start(
        server: TestServer,
        registry: CollectorRegistry | None = None,
        clock: Clock | None = None,
        settings_overrides: dict[str, Any] | None = None,
        database_url: str | None = None,
        **changes: Any,
    ) -> TestClient[Any, Any]:
        url = database_url or await sqlite_database(
            tmp_path, migrated=True, name="bridge-incentives.db"
        )
        await load_demo(url, email_key)
        settings = make_settings(
            database_url=url,
            apps=(incentives_app(base_url(server), **changes),),
            **(settings_overrides or {}),
        )
        app = create_app(settings, registry=registry or CollectorRegistry(), clock=clock)
        return await aiohttp_client(app)

    return start


@pytest.fixture
async def incentives_client(
    sandbox: TestServer,
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    return await start_incentives_bridge(sandbox)
