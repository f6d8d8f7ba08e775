"""Every client contract test runs on the local target and on the Incentives target.

The Incentives target is a bridge pointed at a real Incentives sandbox on port 0
(tests/incentives/conftest.py); its fixtures, and the SMTP ones of tests/email, are reused
here by import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import API_KEY, basic_auth
from tests.contract import Contract
from tests.email.conftest import inbox, smtp_server, smtp_settings
from tests.incentives.conftest import sandbox_database, start_incentives_bridge, start_sandbox
from tests.legacy_api import LegacyApi

__all__ = [
    "inbox",
    "sandbox_database",
    "smtp_server",
    "smtp_settings",
    "start_incentives_bridge",
    "start_sandbox",
]
"""Fixtures re-exported for pytest (a conftest below the root cannot use pytest_plugins)."""

TARGETS = ("local", "incentives")


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def target_client(
    target: str,
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    """A bridge with the demo apps and data, serving the demo app on `target`."""
    if target == "local":
        return await bridge_client()
    return await start_incentives_bridge(await start_sandbox())


@pytest.fixture
def target_api(target_client: TestClient[Any, Any], contract: Contract) -> LegacyApi:
    return LegacyApi(target_client, contract, API_KEY, tuple(basic_auth().items()))
