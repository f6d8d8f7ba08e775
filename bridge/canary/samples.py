"""A replica's cohort figures between two flushes, and the middleware that fills them.

Every legacy call the router placed is counted in its cohort: `canary` when the customer's
bucket fell in the canary, `baseline` when the policy's target served it (calls the locator
sent elsewhere are neither). A failure is an answer with a code of `FAILURE_CODES`, a 5xx
without one, or a call the fallback target had to serve (the chosen target failed it); any
other error code is a business refusal. The decider flushes the book to the store
(bridge/canary/store.py) on every tick, so the cohorts are shared across replicas.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.canary.analysis import FAILURE_CODES, LATENCY_BOUNDS, Cohort, latency_bin
from bridge.canary.store import Sample
from bridge.cutover.router import Reason
from bridge.legacy.cutover import ROUTE
from bridge.observability.context import call_facts

TallyKey = tuple[str, str, str]


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    failures: int = 0
    refusals: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS) + 1))


class SampleBook:
    """Cohort figures per (app, operation, cohort) since the last `drain`."""

    def __init__(self) -> None:
        self._tallies: dict[TallyKey, _Tally] = {}

    def add(self, key: TallyKey, failed: bool, refused: bool, seconds: float) -> None:
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.calls += 1
        tally.failures += failed
        tally.refusals += refused
        tally.latency[latency_bin(seconds)] += 1

    def drain(self, step: Callable[[str, str], datetime | None]) -> list[Sample]:
        """The figures since the last drain, tagged with the step they were routed by (`step`
        of app and operation; None: no plan, dropped); the book starts afresh."""
        tallies, self._tallies = self._tallies, {}
        samples = []
        for (app, operation, cohort), tally in tallies.items():
            started = step(app, operation)
            if started is not None:
                figures = Cohort(tally.calls, tally.failures, tally.refusals, tuple(tally.latency))
                samples.append(Sample(app, operation, cohort, figures, started))
        return samples


CANARY_BOOK = web.AppKey("canary_book", SampleBook)


@web.middleware
async def canary_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count each routed call in its cohort (outside the error middleware: codes are set)."""
    book = request.app.get(CANARY_BOOK)
    if book is None:
        return await handler(request)
    started = time.perf_counter()
    status: int | None = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = None  # the client left: no answer to judge
        raise
    finally:
        if status is not None:
            _count(book, request, status, time.perf_counter() - started)


def _count(book: SampleBook, request: web.Request, status: int, seconds: float) -> None:
    route = request.get(ROUTE)
    facts = call_facts()
    if route is None or facts.operation is None:
        return
    if route.canary:
        cohort = "canary"
    elif route.reason is Reason.POLICY:
        cohort = "baseline"
    else:
        return
    code = facts.legacy_code or ""
    failed = code in FAILURE_CODES or (not code and status >= 500)
    failed = failed or facts.fallback_from is not None
    key = (facts.app or "", facts.operation, cohort)
    book.add(key, failed, bool(code) and not failed, seconds)
