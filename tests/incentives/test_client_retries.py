"""The read retries' schedule: the first attempt outside stamina, the retries inside it.

Every wait between attempts is recorded (asyncio.sleep, which both the client and stamina
use): jittered exponential backoff from `wait_initial_seconds`, never above
`wait_max_seconds`, a 429's Retry-After taken as is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from bridge.errors import RuleError
from bridge.incentives.client import UpstreamFailure
from bridge.incentives.config import RetryPolicy
from tests.incentives.test_client import (
    CALL,
    OPTIONS,
    PATH,
    URL_,
    Upstream,
    calls,
    error_body,
    open_client,
)

Read = Callable[[RetryPolicy], Awaitable[Any]]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the retries asked for (none of them is actually waited).

    Only this thread's: tests/engines.py builds PostgreSQL schemas on another thread's loop.
    """
    asked: list[float] = []
    real_sleep = asyncio.sleep
    test_thread = threading.get_ident()

    async def sleep(delay: float, result: Any = None) -> Any:
        if threading.get_ident() != test_thread:
            return await real_sleep(delay, result)
        asked.append(delay)
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return asked


@pytest.fixture
async def read(mocked: Upstream) -> AsyncIterator[Read]:
    opened = []

    async def call(policy: RetryPolicy) -> Any:
        client = await open_client(policy)
        opened.append(client)
        return await client.post(CALL, PATH, {}, OPTIONS, read=True)

    yield call
    for client in opened:
        await client.close()


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as mock:
        yield Upstream(mock)


def policy(**values: float) -> RetryPolicy:
    return RetryPolicy(**{"wait_jitter_seconds": 0.0, **values})


async def test_the_waits_double_from_the_initial_wait(
    read: Read, mocked: Upstream, waits: list[float]
) -> None:
    mocked.post(URL_, status=503, body="down", repeat=True)

    with pytest.raises(UpstreamFailure):
        await read(policy(wait_initial_seconds=0.1, wait_max_seconds=2.0))

    assert calls(mocked) == 3
    assert waits == [pytest.approx(0.1), pytest.approx(0.2)]


async def test_no_wait_is_longer_than_wait_max_even_with_jitter(
    read: Read, mocked: Upstream, waits: list[float]
) -> None:
    mocked.post(URL_, status=503, body="down", repeat=True)

    with pytest.raises(UpstreamFailure):
        await read(policy(wait_initial_seconds=0.1, wait_max_seconds=0.15, wait_jitter_seconds=5.0))

    assert len(waits) == 2
    assert all(wait <= 0.15 for wait in waits), waits


async def test_a_first_attempt_that_works_waits_for_nothing(
    read: Read, mocked: Upstream, waits: list[float]
) -> None:
    mocked.post(URL_, payload={"status": "ok", "payload": {"n": 1}})

    assert await read(policy(wait_initial_seconds=0.1)) == {"n": 1}

    assert (calls(mocked), waits) == (1, [])


async def test_a_429_waits_its_retry_after(
    read: Read, mocked: Upstream, waits: list[float]
) -> None:
    mocked.post(URL_, status=429, headers={"Retry-After": "3"}, payload=error_body("throttled"))
    mocked.post(URL_, status=429, headers={"Retry-After": "4"}, payload=error_body("throttled"))
    mocked.post(URL_, payload={"status": "ok", "payload": {"n": 1}})

    assert await read(policy(wait_initial_seconds=0.1)) == {"n": 1}

    assert waits == [3.0, 4.0]


async def test_a_single_attempt_policy_never_retries(
    read: Read, mocked: Upstream, waits: list[float]
) -> None:
    mocked.post(URL_, status=503, body="down", repeat=True)

    with pytest.raises(UpstreamFailure):
        await read(policy(attempts=1, wait_initial_seconds=0.1))

    assert (calls(mocked), waits) == (1, [])


async def test_a_refusal_is_not_retried(read: Read, mocked: Upstream, waits: list[float]) -> None:
    mocked.post(URL_, status=422, payload=error_body("insufficient_points"), repeat=True)

    with pytest.raises(RuleError):
        await read(policy(wait_initial_seconds=0.1))

    assert (calls(mocked), waits) == (1, [])
