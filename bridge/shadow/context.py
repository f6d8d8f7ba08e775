"""The shadow machinery's lifetime inside create_app: built on start-up, drained on shutdown.

`shadow_context(settings, clock)` is one cleanup_ctx generator. It opens the runner's own
HTTP session (its own timeout), the shadow store when `BRIDGE_SHADOW__DATABASE_URL` is set
(an order service on a separate database that serves the shadows on local and incentives),
the diff store repository on the bridge's store, the validated comparison rules, the runner
and the optional recorder. On shutdown the runner finishes or drops (and counts) what is queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import date

import aiohttp
import structlog
from aiohttp import web

from bridge.backends.local import LocalBackend
from bridge.backends.protocol import Backend
from bridge.canonical import Target
from bridge.clock import Clock
from bridge.crypto import EmailCipher
from bridge.incentives.backend import IncentivesBackend
from bridge.legacy.routes import SERVICE
from bridge.observability.middleware import METRICS
from bridge.orders.service import OrderService
from bridge.runtime.health import DATABASE
from bridge.settings import Settings
from bridge.shadow.executor import ShadowExecutor
from bridge.shadow.middleware import RECORDER, SHADOW_RUNNER
from bridge.shadow.pages import SHADOW_BOARD, ShadowBoard
from bridge.shadow.recorder import Recorder
from bridge.shadow.rules import OperationRules, load_rules
from bridge.shadow.runner import ShadowRunner
from bridge.store.catalog import Catalog
from bridge.store.executor import Database, open_database
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from bridge.store.remote_orders import RemoteOrders
from bridge.store.shadow_diffs import ShadowDiffs
from mappings.legacy.comparison import RULES


def shadow_context(
    settings: Settings, clock: Clock
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def shadow(app: web.Application) -> AsyncIterator[None]:
        config = settings.shadow
        async with AsyncExitStack() as stack:
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=config.timeout_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            stack.push_async_callback(session.close)
            shadow_service = await _shadow_store(settings, clock, stack)
            diffs = ShadowDiffs(_diffs_engine(app, settings, stack), config.samples_per_field)
            rules = load_rules(RULES)
            warn_expired(rules, clock.now().date())
            runner = ShadowRunner(
                ShadowExecutor(session, app[SERVICE], shadow_service),
                diffs,
                rules,
                app[METRICS],
                clock,
                config,
                settings.apps,
            )
            app[SHADOW_RUNNER] = runner
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


async def _shadow_store(
    settings: Settings, clock: Clock, stack: AsyncExitStack
) -> OrderService | None:
    """The order service on the separate shadow store, or None when none is configured."""
    url = settings.shadow.database_url
    if url is None:
        return None
    engine = open_database(url, sqlite_synchronous=settings.sqlite_synchronous)
    stack.push_async_callback(engine.close)
    cipher = EmailCipher([key.get_secret_value() for key in settings.email_keys])
    catalog = Catalog(engine, cipher)
    ledger = Ledger(engine, cipher)
    backends: dict[Target, Backend] = {
        Target.LOCAL: LocalBackend(catalog, LocalEngineStore(engine, ledger)),
    }
    incentives = IncentivesBackend.build(
        settings.apps, RemoteOrders(engine, ledger, Target.INCENTIVES), clock
    )
    if incentives is not None:
        await incentives.open()
        stack.push_async_callback(incentives.close)
        backends[Target.INCENTIVES] = incentives
    return OrderService(backends, ledger, catalog, clock)


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
