"""End to end: the same legacy scenario on the local target and on the Incentives target."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from tests.incentives.scenario import comparable, run_scenario


async def test_incentives_target_answers_like_the_local_target(
    client: TestClient[Any, Any],
    sandbox: TestServer,
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    local = await run_scenario(client)
    incentives = await run_scenario(await start_incentives_bridge(sandbox))

    assert [step for step, _s, _b in incentives] == [step for step, _s, _b in local]
    for (step, local_status, local_body), (_step, status, body) in zip(
        local, incentives, strict=True
    ):
        assert (step, status, comparable(body)) == (step, local_status, comparable(local_body))
