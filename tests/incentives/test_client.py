"""The Incentives HTTP client on its own (aioresponses): envelope, errors, retries, breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from bridge.canonical import ErrorCode
from bridge.errors import BridgeError, RuleError
from bridge.incentives.client import CallOptions, UpstreamClient, UpstreamFailure
from bridge.incentives.config import BreakerPolicy, RetryPolicy
from mappings.incentives.errors import BY_CODE, BY_HTTP_STATUS

BASE = "http://incentives.test"
PATH = "/offers/api/2.0/offers/get_user_offers"
CALL = "user_offers"
URL_ = BASE + PATH
OPTIONS = CallOptions({"Authorization": "Basic a2V5OnNlY3JldA=="}, aiohttp.ClientTimeout(total=1))
NO_WAIT = RetryPolicy(wait_initial_seconds=0, wait_max_seconds=0, wait_jitter_seconds=0)


class CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's required `stream_writer` argument."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


class _SentWriter:
    """Stands in for the writer of a request that was already sent."""

    output_size = 0


class Upstream:
    """aioresponses, answering with CompatResponse."""

    def __init__(self, mock: aioresponses) -> None:
        self.mock = mock

    def post(self, url: str, **kwargs: Any) -> None:
        self.mock.post(url, response_class=CompatResponse, **kwargs)

    @property
    def requests(self) -> Any:
        return self.mock.requests


def error_body(code: str) -> dict[str, Any]:
    return {
        "status": "error",
        "errors": {"code": code, "type": "t", "message": "m"},
        "payload": None,
    }


async def open_client(
    retry: RetryPolicy = NO_WAIT, breaker: BreakerPolicy | None = None
) -> UpstreamClient:
    client = UpstreamClient(BASE, retry, breaker or BreakerPolicy(failure_threshold=50))
    await client.open()
    return client


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    upstream = await open_client()
    yield upstream
    await upstream.close()


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as mock:
        yield Upstream(mock)


def calls(mocked: Any) -> int:
    return len(mocked.requests.get(("POST", URL(URL_)), []))


async def test_ok_envelope_gives_the_payload(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, payload={"status": "ok", "payload": {"total_records": 0}})
    assert await client.post(CALL, PATH, {}, OPTIONS, read=True) == {"total_records": 0}


@pytest.mark.parametrize(("code", "expected"), sorted(BY_CODE.items()))
async def test_every_mapped_error_code_becomes_its_legacy_error(
    client: UpstreamClient, mocked: Any, code: str, expected: tuple[ErrorCode, str]
) -> None:
    mocked.post(URL_, status=422, payload=error_body(code))
    with pytest.raises(BridgeError) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert (raised.value.code, raised.value.message) == expected


@pytest.mark.parametrize(("status", "expected"), sorted(BY_HTTP_STATUS.items()))
async def test_a_status_without_a_known_code_is_mapped_by_status(
    client: UpstreamClient, mocked: Any, status: int, expected: tuple[ErrorCode, str]
) -> None:
    mocked.post(URL_, status=status, payload=error_body("something_new"))
    with pytest.raises(BridgeError) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert raised.value.code is expected[0]


async def test_status_error_on_http_200_is_an_error(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=200, payload=error_body("insufficient_points"))
    with pytest.raises(RuleError) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert raised.value.code is ErrorCode.OFFER_NOT_AVAILABLE


async def test_a_5xx_read_is_retried_three_times(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=503, body="down", repeat=True)
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=True)
    assert (raised.value.code, calls(mocked)) == (ErrorCode.NOT_AVAILABLE, 3)


async def test_a_5xx_write_is_not_retried(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=500, body="boom", repeat=True)
    with pytest.raises(UpstreamFailure):
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert calls(mocked) == 1


async def test_a_429_is_retried_after_retry_after(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=429, headers={"Retry-After": "0"}, payload=error_body("throttled"))
    mocked.post(URL_, payload={"status": "ok", "payload": {"n": 1}})
    assert await client.post(CALL, PATH, {}, OPTIONS, read=True) == {"n": 1}
    assert calls(mocked) == 2


async def test_a_429_carries_its_retry_after(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=429, headers={"Retry-After": "7"}, payload=error_body("throttled"))
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert (raised.value.code, raised.value.retry_after) == (ErrorCode.NOT_AVAILABLE, 7.0)


async def test_a_timeout_is_not_available_after_retries(
    client: UpstreamClient, mocked: Any
) -> None:
    mocked.post(URL_, exception=TimeoutError(), repeat=True)
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=True)
    assert (raised.value.reason, calls(mocked)) == ("TimeoutError", 3)


async def test_a_connection_error_is_not_available(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=False)
    assert raised.value.code is ErrorCode.NOT_AVAILABLE


async def test_malformed_json_is_not_available(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=200, body="<html>not json</html>")
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=True)
    assert (raised.value.reason, calls(mocked)) == ("malformed answer", 1)


async def test_a_missing_payload_is_not_available(client: UpstreamClient, mocked: Any) -> None:
    mocked.post(URL_, status=200, payload={"status": "ok"})
    with pytest.raises(UpstreamFailure) as raised:
        await client.post(CALL, PATH, {}, OPTIONS, read=True)
    assert raised.value.reason == "missing payload"


async def test_the_retry_budget_stops_retries(mocked: Any) -> None:
    upstream = await open_client(
        NO_WAIT.model_copy(update={"budget_min_tokens": 1.0, "budget_ratio": 0.0})
    )
    mocked.post(URL_, status=503, body="down", repeat=True)
    try:
        for _ in range(2):
            with pytest.raises(UpstreamFailure):
                await upstream.post(CALL, PATH, {}, OPTIONS, read=True)
    finally:
        await upstream.close()
    assert calls(mocked) == 3  # 2 attempts for the first read, 1 for the second


async def test_the_breaker_opens_after_the_threshold(mocked: Any) -> None:
    upstream = await open_client(breaker=BreakerPolicy(failure_threshold=3, reset_seconds=30))
    mocked.post(URL_, status=500, body="boom", repeat=True)
    try:
        for _ in range(3):
            with pytest.raises(UpstreamFailure):
                await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
        with pytest.raises(UpstreamFailure) as raised:
            await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
    finally:
        await upstream.close()
    assert (raised.value.reason, calls(mocked)) == ("circuit open", 3)


async def test_refusals_do_not_open_the_breaker(mocked: Any) -> None:
    upstream = await open_client(breaker=BreakerPolicy(failure_threshold=2, reset_seconds=30))
    mocked.post(URL_, status=422, payload=error_body("insufficient_points"), repeat=True)
    try:
        for _ in range(4):
            with pytest.raises(RuleError):
                await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
    finally:
        await upstream.close()
    assert calls(mocked) == 4


async def test_the_breaker_half_opens_after_reset(mocked: Any) -> None:
    upstream = await open_client(breaker=BreakerPolicy(failure_threshold=1, reset_seconds=0.05))
    mocked.post(URL_, status=500, body="boom")
    mocked.post(URL_, payload={"status": "ok", "payload": {"n": 1}}, repeat=True)
    try:
        with pytest.raises(UpstreamFailure):
            await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
        with pytest.raises(UpstreamFailure) as opened:
            await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
        await asyncio.sleep(0.1)  # past reset_seconds: the next call is the half-open trial
        trial = await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
        after = await upstream.post(CALL, PATH, {}, OPTIONS, read=False)
    finally:
        await upstream.close()
    assert (opened.value.reason, trial, after, calls(mocked)) == (
        "circuit open",
        {"n": 1},
        {"n": 1},
        3,
    )
