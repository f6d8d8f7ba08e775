"""The `Idempotency-Key` in front of the legacy passthrough: a keyed write is sent at most once.

The legacy API has no keys, so the bridge holds them (contract: docs/idempotency.md, "The
legacy target"). Same store, fingerprint, TTL and wait as the other targets; the claim is
committed in a transaction of its own before the call goes out (legacy shares no transaction
with the bridge), and the primary key `(app, key)` lets one request hold it.

What the forward came to decides what the key keeps:

- known: legacy answered in its own envelope below HTTP 500 (not 408 or 429). Stored, and
  replayed byte for byte to every retry.
- not run: never sent (refused, DNS, connect timeout: `not_available`), or refused before
  legacy's API ran it (3xx, 408, 429, a 4xx that is not legacy's envelope: passed on as it
  came). The claim is deleted, so a retry forwards anew.
- unknown: sent and its answer lost (reset, read timeout, cut body), a 5xx, a 2xx that is not
  legacy's envelope. Stored as `not_available` (503) saying so; never forwarded again.

A retry while the first request is still forwarding waits up to `wait` for its answer. A
claim left `in_progress` by a request that died (its forward cannot outlive `grace`) is
settled by the next retry as unknown.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from datetime import timedelta

import orjson
import structlog
from aiohttp import web

from bridge.backends.passthrough import ForwardLostError
from bridge.canonical import ErrorCode
from bridge.clock import Clock
from bridge.errors import (
    InvalidIdempotencyKey,
    KeyInProgress,
    KeyReused,
    RequestError,
    UpstreamError,
)
from bridge.legacy import parsing
from bridge.legacy.idempotent import KEY_HEADER, REPLAYED_HEADER, route_template
from bridge.legacy.responses import error_response
from bridge.observability.context import call_facts
from bridge.observability.middleware import METRICS
from bridge.orders.idempotency import KEY_PATTERN, WriteRequest, awaited_answer, key_row
from bridge.store.idempotency import (
    DONE,
    RELEASED,
    IdempotencyStore,
    KeyClaim,
    KeyTakenError,
    StoredKey,
)

Forward = Callable[[], Awaitable[web.Response]]

REFUSED_UNREAD = frozenset({408, 429})
"""Statuses that say the server did not act on the request (RFC 9110: 408, RFC 6585: 429)."""


class Outcome(enum.Enum):
    KNOWN = "known"
    """Legacy answered in its own envelope: this is what happened."""
    NOT_RUN = "not_run"
    """Refused before legacy's API ran it: nothing happened."""
    UNKNOWN = "unknown"
    """The call may or may not have been carried out."""


def outcome_of(status: int, body: bytes) -> Outcome:
    """What an answer from (or on the way from) legacy tells about a write."""
    if status >= 500:
        return Outcome.UNKNOWN
    if 300 <= status < 400 or status in REFUSED_UNREAD:
        return Outcome.NOT_RUN
    if _is_envelope(body):
        return Outcome.KNOWN
    return Outcome.NOT_RUN if status >= 400 else Outcome.UNKNOWN


def _is_envelope(body: bytes) -> bool:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and document.get("status") in ("ok", "error")


def fingerprinted(request: web.Request, operation: str, raw: bytes) -> WriteRequest:
    """The request as the other targets fingerprint it; legacy's extra inputs added.

    A JSON body counts in canonical form, as everywhere. Legacy may read what the bridge
    does not (a query string, a body that is not JSON), so those count too, under names no
    path parameter has; a request with neither fingerprints as on any other target.
    """
    params = {name: value for name, value in request.match_info.items() if name != "api_key"}
    try:
        body = parsing.json_body(raw)
    except RequestError:
        body = None
        params["(body bytes)"] = raw.hex()
    if request.query_string:
        params["(query)"] = request.query_string
    return WriteRequest(operation, request.method, route_template(request), params, body)


class LegacyKeys:
    """Keyed writes to the legacy target: claim, forward once, keep what the forward came to."""

    def __init__(
        self,
        store: IdempotencyStore,
        clock: Clock,
        *,
        ttl: timedelta,
        wait: timedelta,
        grace: timedelta,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._wait = wait
        self._grace = grace

    async def forward_once(
        self, request: web.Request, app: str, operation: str, forward: Forward
    ) -> web.Response:
        """Forward the keyed write unless its key already has an answer; keep the outcome."""
        key = request.headers[KEY_HEADER]
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidIdempotencyKey()
        write = fingerprinted(request, operation, await request.read())
        now = self._clock.now()
        stored = await self._store.find(app, key, now)
        if stored is None:
            claim = KeyClaim(app, key, write.fingerprint(), operation, now, now + self._ttl)
            try:
                await self._store.claim(claim)
            except KeyTakenError:
                stored = await self._find(app, key)
            else:
                return await self._forward(claim, forward)
        return await self._replay(request, stored, write.fingerprint())

    async def _forward(self, claim: KeyClaim, forward: Forward) -> web.Response:
        try:
            answer = await forward()
        except ForwardLostError:
            return await self._keep_unknown(claim, None)
        except UpstreamError:
            await self._store.forget(claim)  # never sent: a retry may send it
            raise
        body = answer.body if isinstance(answer.body, bytes) else b""
        outcome = outcome_of(answer.status, body)
        if outcome is Outcome.NOT_RUN:
            await self._store.forget(claim)
            return answer
        if outcome is Outcome.UNKNOWN:
            return await self._keep_unknown(claim, answer.status)
        other = await self._store.record(claim, answer.status, body.decode(), None)
        return answer if other is None else _replayed(other)

    async def _keep_unknown(self, claim: KeyClaim, status: int | None) -> web.Response:
        """Store, as the key's answer, that the outcome is unknown; answer it."""
        structlog.get_logger().warning(
            "legacy_write_outcome_unknown",
            operation=claim.operation,
            idempotency_key=claim.key,
            legacy_status=status,
        )
        answer = error_response(
            ErrorCode.NOT_AVAILABLE,
            f"The legacy Orders API did not answer, so whether this request was carried out "
            f"is unknown. It will not be sent again: a retry with Idempotency-Key {claim.key!r} "
            f"gets this answer until the key expires. List the customer's orders to find out; "
            f"send a new key to try it again.",
        )
        body = answer.body if isinstance(answer.body, bytes) else b""
        other = await self._store.record(claim, answer.status, body.decode(), None)
        return answer if other is None else _replayed(other)

    async def _replay(
        self, request: web.Request, stored: StoredKey, fingerprint: str
    ) -> web.Response:
        replays = request.app[METRICS].idempotent_replays
        if stored.fingerprint != fingerprint:
            replays.labels(stored.app, stored.operation, "rejected").inc()
            raise KeyReused(stored.key, stored.operation)
        settled = await awaited_answer(self._store, stored, self._wait, self._clock)
        if settled.status != DONE and self._abandoned(settled):
            await self._keep_unknown(settled.taken_over(), None)
            settled = await self._find(stored.app, stored.key)
        if settled.status != DONE or settled.response_body is None:
            raise KeyInProgress(stored.key)
        replays.labels(stored.app, stored.operation, "replayed").inc()
        call_facts().idempotent_replay = True
        return _replayed(settled)

    def _abandoned(self, stored: StoredKey) -> bool:
        """A legacy claim whose holder cannot still be forwarding (it died mid-call)."""
        held_since = self._clock.now() - stored.created_at
        legacy_claim = stored.order_id is None and stored.owner != RELEASED
        return legacy_claim and held_since > self._grace + self._wait

    async def _find(self, app: str, key: str) -> StoredKey:
        return await key_row(self._store, app, key, self._clock.now())


def _replayed(stored: StoredKey) -> web.Response:
    """The key's stored answer, as it was first given, marked as a replay."""
    response = web.Response(
        body=(stored.response_body or "").encode(),
        status=stored.response_status or 200,
        content_type="application/json",
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response
