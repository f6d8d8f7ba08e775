"""Idempotent writes: a retried request with the same `Idempotency-Key` gets the first answer.

The contract (docs/idempotency.md):

- A key is scoped to one app. The first response to a keyed write (success or a legacy
  error from the order service) is stored with a fingerprint of the request: method, route
  template, path parameters and canonical JSON body.
- The same key with the same request gets the stored status and body back, marked replayed.
- The same key with a different request is refused with `validation`.
- A concurrent duplicate cannot place a second order: the write runs holding the key's
  claim (`holding`), and the store takes the key inside the write's own transaction, so only
  one write can commit it; the loser waits for the winner's stored response (up to `wait`,
  `awaited_answer`, also used by the legacy passthrough's keys), then replays it, or answers
  `not_available` if it is still running.
- A request refused before the order service runs (authentication, malformed body) and a
  5xx answer (an upstream that is down, an internal error) store no answer. On the local
  engine nothing was written, so a retry simply runs again. On a remote target the order
  row may exist in the unknown state (the purchase's answer was lost and could not be
  settled in the call): its claim names the order, and a retry re-resolves it through
  `settle` instead of replaying anything: the wallet, else the purchase sent again with the
  same upstream idempotency id; the order once confirmed, the refusal if the upstream
  refused, or `not_available` again while the upstream still cannot tell. A key that expires
  without such a retry leaves the row to its undo (bridge/orders/compensation.py), due at
  the key's expiry. Nothing is guessed, and nothing is resent but at the client's request.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog

from bridge.canonical import Order, OrderRef
from bridge.clock import Clock
from bridge.errors import (
    BridgeError,
    InvalidIdempotencyKey,
    KeyInProgress,
    KeyReused,
    KeyUnfinished,
    RuleError,
)
from bridge.store.idempotency import (
    DONE,
    RELEASED,
    IdempotencyStore,
    KeyClaim,
    KeyTakenError,
    StoredKey,
    holding,
)
from bridge.store.ledger import Ledger

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
"""A key is 1 to 255 visible ASCII characters (a UUID is the usual choice)."""

POLL_SECONDS = 0.02
SERVER_ERROR = 500
"""Answers from this HTTP status up (not_available, internal errors) are never stored."""

Write = Callable[[], Awaitable[Order]]
"""The service call to make idempotent; it runs holding the key's claim, which the store's
keyed operations take in their units of work (bridge/store/idempotency.py)."""

Settle = Callable[[Order], Awaitable[Order | None]]
"""The order once its outcome is known (None while unknown); raises a refusal it finds."""

Unknown = Callable[[str, int], Awaitable[Order | None]]
"""A row of (app, order id) whose outcome is unknown (never listed), else None."""


async def _known(order: Order) -> Order | None:
    return order


async def _none(_app: str, _order_id: int) -> Order | None:
    return None


@dataclass(frozen=True)
class WriteRequest:
    """What makes two keyed requests "the same request"."""

    operation: str
    method: str
    route: str
    params: Mapping[str, str]
    body: Any

    def fingerprint(self) -> str:
        canonical = orjson.dumps(
            [self.method.upper(), self.route, dict(self.params), self.body],
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Reply:
    """A rendered answer: HTTP status and JSON body text, and whether it is a replay."""

    status: int
    body: str
    replayed: bool = False
    code: str | None = None
    """The error code of an answer rendered in this call (a replay's is in its body)."""


@dataclass(frozen=True)
class Renderer:
    """How the surface renders an order and an error (the legacy surface passes its own)."""

    order: Callable[[Order], Reply]
    error: Callable[[BridgeError], Reply]


class Idempotency:
    def __init__(
        self,
        store: IdempotencyStore,
        ledger: Ledger,
        clock: Clock,
        *,
        ttl: timedelta,
        wait: timedelta,
        settle: Settle = _known,
        unknown: Unknown = _none,
    ) -> None:
        self._settle = settle
        self._unknown = unknown
        self._store = store
        self._ledger = ledger
        self._clock = clock
        self._ttl = ttl
        self._wait = wait

    async def run(
        self, app: str, key: str, request: WriteRequest, write: Write, render: Renderer
    ) -> Reply:
        """Run `write` once per (app, key); every later identical request gets its reply."""
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidIdempotencyKey()
        fingerprint = request.fingerprint()
        now = self._clock.now()
        stored = await self._store.find(app, key, now)
        if stored is not None:
            return await self._replay(stored, fingerprint, render)
        claim = KeyClaim(app, key, fingerprint, request.operation, now, now + self._ttl)
        try:
            with holding(claim):
                order = await write()
        except KeyTakenError:
            return await self._replay(await self._find(app, key), fingerprint, render)
        except BridgeError as exc:
            refusal = render.error(exc)
            if refusal.status >= SERVER_ERROR:
                await self._store.release(claim)  # a retry recovers at once, not after `wait`
                raise  # "retry later" must not be replayed for a day
            return await self._keep(claim, refusal, None, render)
        return await self._keep(claim, render.order(order), order.id, render)

    async def reap(self) -> int:
        """Delete expired keys; how many."""
        return await self._store.reap(self._clock.now())

    async def _keep(
        self, claim: KeyClaim, reply: Reply, order_id: int | None, render: Renderer
    ) -> Reply:
        """Store our reply; if another request stored one first, replay theirs instead."""
        other = await self._store.record(claim, reply.status, reply.body, order_id)
        if other is None:
            return reply
        return await self._replay(other, claim.fingerprint, render)

    async def _replay(self, stored: StoredKey, fingerprint: str, render: Renderer) -> Reply:
        if stored.fingerprint != fingerprint:
            raise KeyReused(stored.key, stored.operation)
        idle = stored.status == DONE or stored.owner == RELEASED
        settled = (
            stored if idle else await awaited_answer(self._store, stored, self._wait, self._clock)
        )
        if settled.status == DONE and settled.response_body is not None:
            return Reply(settled.response_status or 200, settled.response_body, replayed=True)
        return await self._recover(settled, render)

    async def _recover(self, stored: StoredKey, render: Renderer) -> Reply:
        """A key still in progress after `wait`: its writer died after commit, or is running.

        If the write committed (the claim names its order), the order is settled (an outcome
        left unknown upstream is resolved now), rendered from the ledger and stored as the
        key's response; a refusal found while settling is stored instead. Otherwise the
        caller should retry later.
        """
        order = None
        if stored.order_id is not None:
            order = await self._ledger.get(stored.app, OrderRef(order_id=stored.order_id))
            if order is None:
                order = await self._unknown(stored.app, stored.order_id)
        claim = stored.taken_over()
        try:
            order = None if order is None else await self._settle(order)
        except RuleError as exc:
            refusal = render.error(exc)
            if refusal.status >= SERVER_ERROR:
                raise
            kept = await self._keep(claim, refusal, None, render)
            return Reply(kept.status, kept.body, replayed=True)
        if order is None:
            raise KeyInProgress(stored.key)
        reply = await self._keep(claim, render.order(order), order.id, render)
        return Reply(reply.status, reply.body, replayed=True)

    async def _find(self, app: str, key: str) -> StoredKey:
        return await key_row(self._store, app, key, self._clock.now())


async def key_row(store: IdempotencyStore, app: str, key: str, now: datetime) -> StoredKey:
    """The key's row; `not_available` when it is gone (its request did not finish)."""
    stored = await store.find(app, key, now)
    if stored is None:
        raise KeyUnfinished(key)
    return stored


async def awaited_answer(
    store: IdempotencyStore, stored: StoredKey, wait: timedelta, clock: Clock
) -> StoredKey:
    """Wait (up to `wait`) for the request holding the key to store its answer; the key's row
    as it then is (still not `done` if it did not answer in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait.total_seconds()
    current = stored
    while current.status != DONE and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        current = await key_row(store, stored.app, stored.key, clock.now())
    return current


async def reap_periodically(
    idempotency: Idempotency, interval_seconds: float, stop: asyncio.Event
) -> None:
    """Delete expired keys every `interval_seconds` until `stop` is set.

    Stopping waits for a round in progress instead of cancelling it mid-query, so closing
    the app never interrupts a database call. A failed round is logged and retried.
    """
    log = structlog.get_logger()
    while not stop.is_set():
        try:
            removed = await idempotency.reap()
        except Exception:  # a database hiccup must not stop the reaper for good
            log.exception("idempotency_reap_failed")
        else:
            if removed:
                log.info("idempotency_keys_reaped", count=removed)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_seconds)
