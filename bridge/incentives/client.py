"""The HTTP client for one Incentives upstream: session, envelope, errors, retries, breaker.

One `UpstreamClient` per upstream base URL, opened and closed with the app:

- one aiohttp `ClientSession`; HTTP Basic per call (each app has its own key and secret);
  explicit timeouts per call (never aiohttp's 300 s default); headers and timeouts are built
  once per app (`CallOptions`), a body is serialised with orjson and sent as bytes;
- the envelope is unwrapped here and every error answer becomes a `BridgeError` through the
  tables in `mappings/incentives/errors.py`: a refusal (a domain error, a `RuleError`, e.g.
  `InsufficientPoints`) or a failure (`UpstreamFailure`, answered as `not_available`);
- every failure says whether the request is **known not sent** (`UpstreamFailure.not_sent`:
  connection refused or DNS failure, connect timeout, breaker open, client closed, a 429 that
  the upstream refused before doing anything) or may have been acted on (a read timeout, a
  connection lost after the request was written, a 5xx, a body that cannot be read): a write
  whose outcome is unknown must be settled, one known not sent can be dropped at once;
- reads are retried (stamina: jittered exponential backoff, at most 3 attempts, a 429's
  Retry-After honoured) while a retry budget lasts; writes are never retried here, their
  safety comes from idempotency ids and the reconciler (bridge/incentives/backend.py);
- a circuit breaker (purgatory) per upstream counts failures, not refusals, and fails fast
  while open; after `reset_seconds` one trial call is let through (half-open).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
import orjson
import stamina
import structlog
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from pydantic import ValidationError

from bridge.errors import BridgeError, RuleError, UpstreamError
from bridge.incentives.config import BreakerPolicy, RetryPolicy
from bridge.observability.metrics import Metrics
from bridge.observability.upstream import CircuitState, UpstreamOutcome, UpstreamRecorder
from mappings.incentives.errors import UPSTREAM_DOWN, refusal
from mappings.incentives.wire import Envelope

log = structlog.get_logger()


class UpstreamFailure(UpstreamError):
    """The upstream could not be reached or answered badly (answered as `not_available`)."""

    def __init__(
        self,
        reason: str,
        upstream: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        outcome: UpstreamOutcome = "error",
        not_sent: bool = False,
    ) -> None:
        super().__init__(UPSTREAM_DOWN, upstream)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.outcome: UpstreamOutcome = outcome
        self.not_sent = not_sent
        """True only when the upstream cannot have acted on the request (see the module doc)."""


def known_not_sent(exc: BaseException) -> bool:
    """Whether a failed call certainly did nothing upstream (a refusal also did nothing)."""
    return isinstance(exc, RuleError) or (isinstance(exc, UpstreamFailure) and exc.not_sent)


@dataclass(frozen=True)
class CallOptions:
    """Per-app settings of one call: credentials and timeouts."""

    headers: dict[str, str]
    """The call's Authorization header (HTTP Basic with the app's key and secret)."""
    timeout: aiohttp.ClientTimeout
    body_headers: dict[str, str] = field(init=False)
    """`headers` with the JSON content type, for a call with a body (built once)."""

    def __post_init__(self) -> None:
        body_headers = {**self.headers, "Content-Type": "application/json"}
        object.__setattr__(self, "body_headers", body_headers)


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


NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
"""Failures before the request was written: refused, DNS (a ClientConnectorError), connect
timeout. Anything later (a reset, a read timeout) may follow a request the upstream acted on."""
TOO_MANY_REQUESTS = 429
"""Refused by the upstream's rate limiter before it did anything."""

CIRCUIT: dict[str, CircuitState] = {
    "closed": "closed",
    "opened": "open",
    "half-opened": "half_open",
}
"""purgatory's state names -> the `bridge_upstream_circuit_state` vocabulary."""


class UpstreamClient:
    def __init__(
        self,
        base_url: str,
        retry: RetryPolicy,
        breaker: BreakerPolicy,
        *,
        upstream: str = "incentives",
        metrics: Metrics | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.upstream = upstream
        self._recorder = None if metrics is None else UpstreamRecorder(metrics, upstream)
        self._retry = retry
        self._budget = RetryBudget(retry.budget_ratio, retry.budget_min_tokens)
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=breaker.failure_threshold,
            default_ttl=breaker.reset_seconds,
            exclude=[RuleError],
        )
        self._breakers.add_listener(self._on_breaker_event)
        self._session: aiohttp.ClientSession | None = None

    def _on_breaker_event(self, _name: str, event_name: str, event: object) -> None:
        """Publish the breaker's state; log when it changes."""
        state = CIRCUIT.get(str(getattr(event, "state", "closed")), "closed")
        if event_name == "state_changed":
            log.warning("upstream_circuit_changed", upstream=self.upstream, state=state)
        if self._recorder is not None and event_name in (
            "state_changed",
            "circuit_breaker_created",
        ):
            self._recorder.circuit(state)

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(raise_for_status=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self, call: str, path: str, body: dict[str, Any], options: CallOptions, *, read: bool
    ) -> Any:
        """POST a Connect call; the envelope's `payload`. Reads are retried, writes are not."""
        request = _Request(
            call, "POST", path, orjson.dumps(body), options.body_headers, options.timeout, "payload"
        )
        if not read:
            return await self._guarded(request, 1)
        return await self._retried(request)

    async def get(self, call: str, path: str, options: CallOptions) -> Any:
        """GET a legacy Core resource (a read, retried); the whole `{"status":"ok",...}` body."""
        request = _Request(call, "GET", path, None, options.headers, options.timeout, None)
        return await self._retried(request)

    async def _retried(self, request: _Request) -> Any:
        """The first attempt directly; stamina's retry loop only once it has failed retryably.

        (Entering stamina's retry context costs more than a whole call to a fast upstream.)
        """
        self._budget.deposit()
        try:
            return await self._guarded(request, 1)
        except Exception as exc:
            wait = self._should_retry(exc) if self._retry.attempts > 1 else False
            if wait is False:
                raise
        policy = self._retry
        if wait is True:  # stamina's first backoff (exponential base 2, jittered)
            jitter = random.uniform(0, policy.wait_jitter_seconds)  # noqa: S311
            wait = min(policy.wait_max_seconds, policy.wait_initial_seconds + jitter)
        await asyncio.sleep(wait)
        async for attempt in stamina.retry_context(
            on=self._should_retry,
            attempts=policy.attempts - 1,
            timeout=None,
            wait_initial=policy.wait_initial_seconds * 2,
            wait_max=policy.wait_max_seconds,
            wait_jitter=policy.wait_jitter_seconds,
        ):
            with attempt:
                return await self._guarded(request, attempt.num + 1)
        raise AssertionError("stamina ends with a result or the last exception")

    def _should_retry(self, exc: Exception) -> bool | float:
        """Retry a retryable failure while the budget lasts; a 429's Retry-After is the wait."""
        if not isinstance(exc, UpstreamFailure) or not exc.retryable:
            return False
        if not self._budget.withdraw():
            log.warning("upstream_retry_budget_exhausted", upstream=self.base_url)
            return False
        return exc.retry_after if exc.retry_after is not None else True

    async def _guarded(self, request: _Request, attempt: int) -> Any:
        started = time.perf_counter()
        outcome: UpstreamOutcome = "ok"
        status: int | None = None
        try:
            breaker = await self._breakers.get_breaker(self.base_url)
            async with breaker:
                status, raw, retry_after = await self._send(request)
                return self._unwrap(request.path, status, raw, retry_after, request.key)
        except OpenedState as exc:
            outcome = "circuit_open"
            raise UpstreamFailure(
                "circuit open",
                self.base_url,
                retryable=False,
                outcome="circuit_open",
                not_sent=True,
            ) from exc
        except BridgeError as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._record(request.call, outcome, time.perf_counter() - started, status, attempt)

    def _record(
        self, call: str, outcome: UpstreamOutcome, seconds: float, status: int | None, attempt: int
    ) -> None:
        if self._recorder is not None:
            self._recorder.record(call, outcome, seconds, status, attempt)

    async def _send(self, request: _Request) -> tuple[int, bytes, float | None]:
        if self._session is None:
            raise UpstreamFailure("client not open", self.base_url, retryable=False, not_sent=True)
        try:
            async with self._session.request(
                request.method,
                self.base_url + request.path,
                data=request.body,
                headers=request.headers,
                timeout=request.timeout,
            ) as response:
                raw = await response.read()
                retry_after = _retry_after(response.headers.get("Retry-After"))
                return response.status, raw, retry_after
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = type(exc).__name__
            log.warning("upstream_call_failed", path=request.path, reason=reason)
            outcome: UpstreamOutcome = "timeout" if "Timeout" in reason else "connection_error"
            raise UpstreamFailure(
                reason,
                self.base_url,
                retryable=True,
                outcome=outcome,
                not_sent=isinstance(exc, NOT_SENT),
            ) from exc

    def _unwrap(
        self, path: str, status: int, raw: bytes, retry_after: float | None, key: str | None
    ) -> Any:
        document = _json(raw)
        plain_ok = _plain_ok(document)
        envelope = None if plain_ok else _envelope(document)
        ok = plain_ok or (envelope is not None and envelope.status == "ok")
        if 200 <= status < 300 and ok:
            payload = document if key is None else document.get(key)
            if payload is None:
                raise self._failure(
                    path, status, "missing payload", False, outcome="invalid_response"
                )
            return payload
        code = envelope.errors.code if envelope is not None and envelope.errors else None
        if envelope is None and 200 <= status < 300:
            raise self._failure(path, status, "malformed answer", False, outcome="invalid_response")
        refused = refusal(code, status)
        if refused is not None:
            log.info("upstream_refused", path=path, status=status, code=code)
            raise refused
        retryable = status == 429 or status >= 500
        failure = self._failure(path, status, code or "error answer", retryable, retry_after)
        failure.not_sent = status == TOO_MANY_REQUESTS
        raise failure

    def _failure(
        self,
        path: str,
        status: int,
        reason: str,
        retryable: bool,
        retry_after: float | None = None,
        *,
        outcome: UpstreamOutcome = "error",
    ) -> UpstreamFailure:
        log.warning("upstream_call_failed", path=path, status=status, reason=reason)
        return UpstreamFailure(
            reason, self.base_url, retryable=retryable, retry_after=retry_after, outcome=outcome
        )


class _Request(NamedTuple):
    call: str
    """The call's name for metrics and logs (its declaration's `Call.name`)."""
    method: str
    path: str
    body: bytes | None
    """The JSON body, serialised (None: a call without one)."""
    headers: dict[str, str]
    timeout: aiohttp.ClientTimeout
    key: str | None
    """`payload` for Connect envelopes; None for Core answers, returned whole."""


def _outcome(exc: BridgeError) -> UpstreamOutcome:
    """The metric outcome of a failed attempt (a refusal is an `error` answer too)."""
    return exc.outcome if isinstance(exc, UpstreamFailure) else "error"


_NOT_JSON = object()
"""What `_json` returns for a body that is not JSON."""


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _plain_ok(document: Any) -> bool:
    """An ok envelope without an `errors` member: `Envelope` would accept it as it is (the hot
    path skips building the model; anything else goes through `_envelope`)."""
    return (
        type(document) is dict and document.get("status") == "ok" and document.get("errors") is None
    )


def _envelope(document: Any) -> Envelope | None:
    """The parsed envelope, or None when the body is not a JSON envelope at all."""
    try:
        return Envelope.model_validate(document)
    except ValidationError:
        return None


def _retry_after(header: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by JSON APIs; ignored)."""
    if header is None or not header.strip().isdigit():
        return None
    return float(header.strip())
