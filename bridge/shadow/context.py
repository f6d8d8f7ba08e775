"""The shadow machinery's lifetime inside create_app: built on start-up, drained on shutdown.

`shadow_context(settings, clock, shadow_service)` is one cleanup_ctx generator. It opens the
runner's own HTTP session (its own timeout), the shadow store when
`BRIDGE_SHADOW__DATABASE_URL` is set (an order service on a separate database that serves the
shadows on local and incentives, built by `shadow_service`: create_app's own factory),
the diff store repository on the bridge's store, the validated comparison rules, the runner
and the optional recorder. On shutdown the runner finishes or drops (and counts) what is queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import date

import aiohttp
import structlog
from aiohttp import web

from bridge.clock import Clock
from bridge.legacy.routes import SERVICE
from bridge.observability.middleware import AFTER_ANSWER, METRICS
from bridge.orders.service import OrderService
from bridge.runtime.health import DATABASE
from bridge.settings import Settings
from bridge.shadow.executor import ShadowExecutor
from bridge.shadow.middleware import RECORDER, SHADOW_RUNNER, capture_call
from bridge.shadow.pages import SHADOW_BOARD, ShadowBoard
from bridge.shadow.recorder import Recorder
from bridge.shadow.rules import OperationRules, load_rules
from bridge.shadow.runner import ShadowRunner
from bridge.store.executor import Database, open_database
from bridge.store.shadow_diffs import ShadowDiffs
from mappings.legacy.comparison import RULES

ShadowService = Callable[[str], AbstractAsyncContextManager[OrderService]]
"""The order service on the store at a URL, closed on exit (create_app's factory)."""


def shadow_context(
    settings: Settings, clock: Clock, shadow_service: ShadowService
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def shadow(app: web.Application) -> AsyncIterator[None]:
        config = settings.shadow
        async with AsyncExitStack() as stack:
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            stack.push_async_callback(session.close)
            url = config.database_url
            service = None if url is None else await stack.enter_async_context(shadow_service(url))
            diffs = ShadowDiffs(_diffs_engine(app, settings, stack), config.samples_per_field)
            rules = load_rules(RULES)
            warn_expired(rules, clock.now().date())
            runner = ShadowRunner(
                ShadowExecutor(session, app[SERVICE], service),
                diffs,
                rules,
                app[METRICS],
                clock,
                config,
                settings.apps,
            )
            app[SHADOW_RUNNER] = runner
            app[AFTER_ANSWER] = capture_call
            app[SHADOW_BOARD] = ShadowBoard(diffs, rules, config, clock)
            if config.record_file is not None and config.record_rate > 0:
                recorder = Recorder(config.record_file, config.record_rate)
                app[RECORDER] = recorder
                recorder.start()
                stack.push_async_callback(recorder.stop)
            runner.start()
            stack.push_async_callback(runner.stop)
            yield

    return shadow


def _diffs_engine(app: web.Application, settings: Settings, stack: AsyncExitStack) -> Database:
    """The diff store's database: its own when `BRIDGE_SHADOW__DIFFS_DATABASE_URL` is set."""
    url = settings.shadow.diffs_database_url
    if url is None:
        return app[DATABASE]
    engine = open_database(url, sqlite_synchronous=settings.sqlite_synchronous)
    stack.push_async_callback(engine.close)
    return engine


def warn_expired(rules: Mapping[str, OperationRules], today: date) -> None:
    """Log every expired ignore rule at start-up: it no longer hides anything."""
    for operation, entry in rules.items():
        for rule in entry.ignore:
            if rule.expired(today):
                structlog.get_logger().warning(
                    "comparison_rule_expired",
                    operation=operation,
                    path=rule.path,
                    owner=rule.owner,
                    expired_on=rule.expires.isoformat(),
                )
