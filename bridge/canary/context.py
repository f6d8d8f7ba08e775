"""The automated canary's lifetime inside create_app (one cleanup_ctx generator).

Built before the cutover context, whose router reads `CANARY_STEPS`: the shared plans are
read once at start-up (a restarted replica routes by the stored step from its first call),
then the decider ticks in the background until shutdown. The shadow's diff store is looked up
when a plan needs it (the shadow context starts later).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import suppress

import structlog
from aiohttp import web

from bridge.canary.decider import Decider, ShadowCounts, analysed
from bridge.canary.samples import CANARY_BOOK, SampleBook
from bridge.canary.steps import CanarySteps
from bridge.canary.store import CanaryStore
from bridge.clock import Clock
from bridge.observability.middleware import METRICS
from bridge.runtime.admin import POLICY_SOURCE
from bridge.runtime.health import DATABASE
from bridge.shadow.pages import SHADOW_BOARD
from bridge.store.reconcile_runs import ReconcileRuns

CANARY_STEPS = web.AppKey("canary_steps", CanarySteps)
CANARY_STORE = web.AppKey("canary_store", CanaryStore)
CANARY_DECIDER = web.AppKey("canary_decider", Decider)


def replica_name() -> str:
    """Who decided, in the audit: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def canary_context(clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def canary(app: web.Application) -> AsyncIterator[None]:
        store = CanaryStore(app[DATABASE])
        steps = CanarySteps(store, app[METRICS])
        book = SampleBook()
        app[CANARY_STORE] = store
        app[CANARY_STEPS] = steps
        app[CANARY_BOOK] = book

        def shadow() -> ShadowCounts | None:
            board = app.get(SHADOW_BOARD)
            return board.diffs if board is not None else None

        decider = Decider(
            store,
            app[POLICY_SOURCE].current,
            steps,
            book,
            clock,
            app[METRICS],
            replica_name(),
            ReconcileRuns(app[DATABASE]),
            shadow,
        )
        app[CANARY_DECIDER] = decider
        try:
            if analysed(app[POLICY_SOURCE].current()):
                await steps.refresh()
        except Exception as exc:  # the decider's ticks read it again; routing waits at 0 %
            structlog.get_logger().warning("canary_state_unread", error=type(exc).__name__)
        task = asyncio.create_task(decider.run())
        yield
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return canary
