"""The HTTP client for one Incentives upstream: session, envelope, errors, retries, breaker.

One `UpstreamClient` per upstream base URL, opened and closed with the app:

- one aiohttp `ClientSession`; HTTP Basic per call (each app has its own key and secret);
  explicit timeouts per call (never aiohttp's 300 s default);
- the envelope is unwrapped here and every error answer becomes a `BridgeError` through the
  tables in `mappings/incentives/errors.py`: a refusal (`RuleError`, e.g. not enough points)
  or a failure (`UpstreamFailure`, answered as `not_available`);
- reads are retried (stamina: jittered exponential backoff, at most 3 attempts, a 429's
  Retry-After honoured) while a retry budget lasts; writes are never retried here, their
  safety comes from idempotency ids and the reconciler (bridge/backends/incentives.py);
- a circuit breaker (purgatory) per upstream counts failures, not refusals, and fails fast
  while open; after `reset_seconds` one trial call is let through (half-open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import stamina
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import ValidationError

from bridge.canonical import ErrorCode
from bridge.errors import RuleError, UpstreamError
from bridge.incentives_config import BreakerPolicy, RetryPolicy
from mappings.incentives.errors import UPSTREAM_DOWN, legacy_error
from mappings.incentives.wire import Envelope

log = structlog.get_logger()


class UpstreamFailure(UpstreamError):
    """The upstream could not be reached or answered badly (answered as `not_available`)."""

    def __init__(
        self, reason: str, upstream: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(UPSTREAM_DOWN, upstream)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class CallOptions:
    """Per-app settings of one call: credentials and timeouts."""

    headers: dict[str, str]
    """The call's Authorization header (HTTP Basic with the app's key and secret)."""
    timeout: aiohttp.ClientTimeout


class RetryBudget:
    """A token bucket that keeps retries to a fraction of calls (Finagle's retry budget).

    Every call deposits `ratio` tokens (up to a cap); every retry withdraws one. A floor of
    `min_tokens` lets a quiet upstream be retried; a failing busy one cannot be stormed.
    """

    def __init__(self, ratio: float, min_tokens: float) -> None:
        self._ratio = ratio
        self._cap = max(min_tokens, 1.0) * 10
        self._tokens = min_tokens

    def deposit(self) -> None:
        self._tokens = min(self._cap, self._tokens + self._ratio)

    def withdraw(self) -> bool:
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class UpstreamClient:
    def __init__(self, base_url: str, retry: RetryPolicy, breaker: BreakerPolicy) -> None:
        self.base_url = base_url.rstrip("/")
        self._retry = retry
        self._budget = RetryBudget(retry.budget_ratio, retry.budget_min_tokens)
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker.failure_threshold,
            default_ttl=breaker.reset_seconds,
            exclude=[RuleError],
        )
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            json_serialize=lambda value: orjson.dumps(value).decode(),
            raise_for_status=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self, path: str, body: dict[str, Any], options: CallOptions, *, read: bool
    ) -> Any:
        """POST a Connect call; the envelope's `payload`. Reads are retried, writes are not."""
        if not read:
            return await self._guarded("POST", path, body, options, "payload")
        return await self._retried("POST", path, body, options, "payload")

    async def get(self, path: str, options: CallOptions) -> Any:
        """GET a legacy Core resource (a read, retried); the whole `{"status":"ok",...}` body."""
        return await self._retried("GET", path, None, options, None)

    async def _retried(
        self, method: str, path: str, body: Any, options: CallOptions, key: str | None
    ) -> Any:
        self._budget.deposit()
        async for attempt in stamina.retry_context(
            on=self._should_retry,
            attempts=self._retry.attempts,
            timeout=None,
            wait_initial=self._retry.wait_initial_seconds,
            wait_max=self._retry.wait_max_seconds,
            wait_jitter=self._retry.wait_jitter_seconds,
        ):
            with attempt:
                return await self._guarded(method, path, body, options, key)
        raise AssertionError("stamina ends with a result or the last exception")

    def _should_retry(self, exc: Exception) -> bool | float:
        """Retry a retryable failure while the budget lasts; a 429's Retry-After is the wait."""
        if not isinstance(exc, UpstreamFailure) or not exc.retryable:
            return False
        if not self._budget.withdraw():
            log.warning("upstream_retry_budget_exhausted", upstream=self.base_url)
            return False
        return exc.retry_after if exc.retry_after is not None else True

    async def _guarded(
        self, method: str, path: str, body: Any, options: CallOptions, key: str | None
    ) -> Any:
        try:
            breaker = await self._breakers.get_breaker(self.base_url)
            async with breaker:
                return await self._once(method, path, body, options, key)
        except OpenedState as exc:
            raise UpstreamFailure("circuit open", self.base_url, retryable=False) from exc

    async def _once(
        self, method: str, path: str, body: Any, options: CallOptions, key: str | None
    ) -> Any:
        if self._session is None:
            raise UpstreamFailure("client not open", self.base_url, retryable=False)
        try:
            async with self._session.request(
                method,
                self.base_url + path,
                json=body,
                headers=options.headers,
                timeout=options.timeout,
            ) as response:
                raw = await response.read()
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("upstream_call_failed", path=path, reason=type(exc).__name__)
            raise UpstreamFailure(type(exc).__name__, self.base_url, retryable=True) from exc
        return self._unwrap(path, status, raw, retry_after, key)

    def _unwrap(
        self, path: str, status: int, raw: bytes, retry_after: float | None, key: str | None
    ) -> Any:
        envelope = _envelope(raw)
        if 200 <= status < 300 and envelope is not None and envelope.status == "ok":
            payload = envelope.payload if key == "payload" else orjson.loads(raw)
            if payload is None:
                raise self._failure(path, status, "missing payload", retryable=False)
            return payload
        code = envelope.errors.code if envelope is not None and envelope.errors else None
        if envelope is None and 200 <= status < 300:
            raise self._failure(path, status, "malformed answer", retryable=False)
        legacy, message = legacy_error(code, status)
        if legacy is not ErrorCode.NOT_AVAILABLE:
            log.info("upstream_refused", path=path, status=status, code=code)
            raise RuleError(legacy, message)
        retryable = status == 429 or status >= 500
        raise self._failure(path, status, code or "error answer", retryable, retry_after)

    def _failure(
        self,
        path: str,
        status: int,
        reason: str,
        retryable: bool,
        retry_after: float | None = None,
    ) -> UpstreamFailure:
        log.warning("upstream_call_failed", path=path, status=status, reason=reason)
        return UpstreamFailure(reason, self.base_url, retryable=retryable, retry_after=retry_after)


def _envelope(raw: bytes) -> Envelope | None:
    """The parsed envelope, or None when the body is not a JSON envelope at all."""
    try:
        return Envelope.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _retry_after(header: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by JSON APIs; ignored)."""
    if header is None or not header.strip().isdigit():
        return None
    return float(header.strip())
