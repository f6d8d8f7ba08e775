"""Reliability fixtures: the fault-injecting upstream in front of a real sandbox or legacy.

The Incentives and cutover fixtures are reused as they are (imported, so pytest sees them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bridge.sandbox.faults import FaultyUpstream
from tests.cutover.conftest import legacy_server, routed_bridge  # noqa: F401 - fixtures
from tests.incentives.conftest import (  # noqa: F401 - fixtures
    base_url,
    sandbox,
    sandbox_database,
    start_incentives_bridge,
    start_sandbox,
)

ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def start_faulty(aiohttp_server: ServerFactory) -> Callable[..., Awaitable[FaultyUpstream]]:
    """Start a fault-injecting proxy in front of `target` on port 0; `.url` is its address."""

    async def start(target: TestServer) -> FaultyUpstream:
        upstream = FaultyUpstream(base_url(target))
        server = await aiohttp_server(upstream.app())
        upstream.url = base_url(server)
        return upstream

    return start


def sample(registry: Any, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for metric in registry.collect():
        for found in metric.samples:
            if found.name == name and labels.items() <= found.labels.items():
                total += found.value
    return total
