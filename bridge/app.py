"""create_app(settings): the only place long-lived objects are built and closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.backends.local import LocalBackend
from bridge.backends.passthrough import LegacyPassthrough, passthrough_session
from bridge.backends.protocol import Backend
from bridge.canary.context import CANARY_STEPS, canary_context
from bridge.canary.page import add_canary_routes
from bridge.canary.samples import canary_middleware
from bridge.canonical import Target
from bridge.clock import Clock, SystemClock
from bridge.crypto import EmailCipher
from bridge.cutover.router import Router
from bridge.cutover.source import PolicyReloader, PolicySource
from bridge.incentives.backend import IncentivesBackend
from bridge.legacy.auth import AppDirectory
from bridge.legacy.cutover import CUTOVER, Cutover
from bridge.legacy.idempotent import IDEMPOTENCY
from bridge.legacy.keyed_passthrough import LegacyKeys
from bridge.legacy.middleware import error_middleware
from bridge.legacy.routes import APPS, SERVICE, add_routes
from bridge.observability.metrics import Metrics
from bridge.observability.middleware import METRICS, observe_middleware
from bridge.orders.compensation import Compensation, compensation_handlers
from bridge.orders.email_delivery import EmailDelivery, SmtpTransport
from bridge.orders.idempotency import Idempotency, reap_periodically
from bridge.orders.outbox_sender import Handler, OutboxSender, SenderPolicy
from bridge.orders.redemption import RedemptionDelivery
from bridge.orders.service import OrderService
from bridge.runtime.admin import ADMIN_TOKEN, POLICY_SOURCE, add_admin_routes
from bridge.runtime.health import DATABASE, add_health_routes
from bridge.settings import Settings
from bridge.shadow.context import shadow_context
from bridge.shadow.pages import add_shadow_routes
from bridge.store.catalog import Catalog
from bridge.store.executor import Database, open_database
from bridge.store.history import HistoryStore, raise_order_id_floor
from bridge.store.idempotency import IdempotencyStore
from bridge.store.ledger import Ledger
from bridge.store.local_engine import LocalEngineStore
from bridge.store.outbox import Outbox
from bridge.store.remote_orders import RemoteOrders

MAX_BODY_BYTES = 64 * 1024
OUTBOX_SENDER = web.AppKey("outbox_sender", OutboxSender)
INCENTIVES = web.AppKey("incentives", IncentivesBackend)
REMOTE_ORDERS = web.AppKey("remote_orders", RemoteOrders)


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    clock: Clock | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[observe_middleware, canary_middleware, error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[METRICS] = Metrics(registry if registry is not None else CollectorRegistry())
    if not settings.metrics_enabled:
        app[METRICS].disable()
    app[APPS] = AppDirectory(settings.apps)
    cipher = EmailCipher([key.get_secret_value() for key in settings.email_keys])
    clock = clock or SystemClock()
    wakeup = asyncio.Event()  # set when an order commits an outbox row
    app.cleanup_ctx.append(_store_context(settings, cipher, clock, wakeup))
    app.cleanup_ctx.append(_sender_context(settings, cipher, clock, wakeup))
    policy = PolicySource(settings.policy_file, settings.apps, clock or SystemClock(), app[METRICS])
    app[POLICY_SOURCE] = policy
    if settings.admin_token is not None:
        app[ADMIN_TOKEN] = settings.admin_token
    app.cleanup_ctx.append(canary_context(clock))
    app.cleanup_ctx.append(_cutover_context(settings, cipher, policy, clock))
    app.cleanup_ctx.append(
        shadow_context(settings, clock, _shadow_service(settings, cipher, clock))
    )
    add_routes(app)
    add_health_routes(app)
    add_admin_routes(app)
    add_shadow_routes(app)
    add_canary_routes(app)
    return app


@dataclass(frozen=True, slots=True)
class Orders:
    """An order service and what it is built on (`orders_on` builds it)."""

    db: Database
    service: OrderService
    ledger: Ledger
    remote: RemoteOrders
    incentives: IncentivesBackend | None


@asynccontextmanager
async def orders_on(
    url: str,
    settings: Settings,
    cipher: EmailCipher,
    clock: Clock,
    *,
    metrics: Metrics | None = None,
    on_enqueued: Callable[[], None] | None = None,
) -> AsyncIterator[Orders]:
    """The order service on the store at `url` with its backends: the bridge's own, and the
    shadow store's (bridge/shadow/context.py). On exit the Incentives clients close, then the
    store."""
    db = open_database(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    try:
        catalog = Catalog(db, cipher)
        ledger = Ledger(db, cipher)
        local = LocalBackend(catalog, LocalEngineStore(db, ledger, on_enqueued=on_enqueued))
        backends: dict[Target, Backend] = {Target.LOCAL: local}
        remote = RemoteOrders(db, ledger, Target.INCENTIVES)
        incentives = IncentivesBackend.build(settings.apps, remote, clock, metrics)
        if incentives is not None:
            await incentives.open()
            backends[Target.INCENTIVES] = incentives
        try:
            service = OrderService(backends, ledger, catalog, clock)
            yield Orders(db, service, ledger, remote, incentives)
        finally:
            if incentives is not None:
                await incentives.close()
    finally:
        await db.close()


def _store_context(
    settings: Settings, cipher: EmailCipher, clock: Clock, wakeup: asyncio.Event
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def store(app: web.Application) -> AsyncIterator[None]:
        async with orders_on(
            settings.database_url,
            settings,
            cipher,
            clock,
            metrics=app[METRICS],
            on_enqueued=wakeup.set,
        ) as orders:
            app[DATABASE] = orders.db
            app[SERVICE] = orders.service
            if orders.incentives is not None:
                app[INCENTIVES] = orders.incentives
                app[REMOTE_ORDERS] = orders.remote
            app[IDEMPOTENCY] = Idempotency(
                IdempotencyStore(orders.db),
                orders.ledger,
                clock,
                ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
                wait=timedelta(seconds=settings.idempotency_wait_seconds),
                settle=orders.service.settle,
                unknown=orders.remote.unknown_order,
            )
            stop_reaper = asyncio.Event()
            reaper = asyncio.create_task(
                reap_periodically(app[IDEMPOTENCY], settings.idempotency_reap_seconds, stop_reaper)
            )
            yield
            stop_reaper.set()
            await reaper

    return store


def _sender_context(
    settings: Settings, cipher: EmailCipher, clock: Clock, wakeup: asyncio.Event
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The outbox sender runs while the app does (after the store opens, before it closes).

    It delivers fulfilment emails when SMTP is configured and retries upstream fulfilments
    when an app is on the Incentives target; with neither, there is no sender.
    """

    async def sender(app: web.Application) -> AsyncIterator[None]:
        db = app[DATABASE]
        handlers: list[Handler] = []
        if settings.smtp is not None:
            handlers.append(
                EmailDelivery(
                    Ledger(db, cipher),
                    SmtpTransport(settings.smtp),
                    {config.name: config for config in settings.apps},
                    app[METRICS],
                    clock,
                    settings.smtp.sender,
                )
            )
        if INCENTIVES in app:
            handlers.append(RedemptionDelivery(app[INCENTIVES], app[METRICS]))
            compensation = Compensation(app[INCENTIVES], app[REMOTE_ORDERS], clock, app[METRICS])
            handlers.extend(compensation_handlers(compensation, app[METRICS]))
        if not handlers:
            yield
            return
        outbox_sender = OutboxSender(
            Outbox(db),
            handlers,
            app[METRICS],
            clock,
            SenderPolicy(
                max_attempts=settings.outbox_max_attempts,
                poll_seconds=settings.outbox_poll_seconds,
            ),
            wakeup,
        )
        app[OUTBOX_SENDER] = outbox_sender
        outbox_sender.start()
        yield
        await outbox_sender.stop()

    return sender


def _cutover_context(
    settings: Settings, cipher: EmailCipher, policy: PolicySource, clock: Clock
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The router, the legacy passthrough's pooled session and the policy reloader."""

    async def cutover(app: web.Application) -> AsyncIterator[None]:
        db = app[DATABASE]
        await raise_order_id_floor(db, settings.order_id_floor)
        session = passthrough_session(
            settings.legacy_timeout_seconds,
            settings.legacy_connect_timeout_seconds,
            settings.legacy_pool_size,
        )
        app[CUTOVER] = Cutover(
            app[APPS],
            Router(policy.current, app[CANARY_STEPS].percent),
            LegacyPassthrough(session, app[METRICS]),
            app[SERVICE],
            app[METRICS],
            HistoryStore(db),
            LegacyKeys(
                IdempotencyStore(db),
                clock,
                ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
                wait=timedelta(seconds=settings.idempotency_wait_seconds),
                grace=timedelta(seconds=settings.legacy_timeout_seconds),
            ),
        )
        reloader = PolicyReloader(policy, settings.policy_poll_seconds)
        reloader.start()
        yield
        await reloader.stop()
        await session.close()

    return cutover


def _shadow_service(
    settings: Settings, cipher: EmailCipher, clock: Clock
) -> Callable[[str], AbstractAsyncContextManager[OrderService]]:
    """The shadow store's order service, built by `orders_on` like the bridge's own."""

    @asynccontextmanager
    async def service(url: str) -> AsyncIterator[OrderService]:
        async with orders_on(url, settings, cipher, clock) as orders:
            yield orders.service

    return service
