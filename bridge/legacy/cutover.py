"""The cutover in the request path: ask the router, then forward to legacy or serve here.

`serve_call(request, operation)` answers each of the four order operations: the app is
authenticated, the call's facts are set (bridge/observability/context.py), the order a
get/update names is parsed and located through the order service (read once: the router
decides by it and the operation serves it), the router decides (target, reason), the decision
is counted and put on the call's log line, and then either the legacy passthrough answers
(the order service is skipped) or the operation (bridge/legacy/operations.py) runs with the
app's target set to the chosen one. When the chosen target's upstream is unavailable and the
policy allows `fallback: local`, the operation runs again on the local target (counted as a
fallback); never after a write whose answer was lost on its way back from legacy, which may
have placed it.

A write with an `Idempotency-Key` is held in front of the passthrough as on every target
(`bridge/legacy/keyed_passthrough.py`): forwarded at most once per key.
"""

from __future__ import annotations

import functools

import orjson
import structlog
from aiohttp import web

from bridge.backends.passthrough import ForwardLostError, LegacyPassthrough
from bridge.canonical import ErrorCode, Target
from bridge.cutover.backfill import history_order
from bridge.cutover.policy import WRITES, Operation
from bridge.cutover.router import Located, Reason, Route, Router, customer_key
from bridge.errors import ImportedOrderReadOnly, UpstreamError
from bridge.legacy import operations
from bridge.legacy.auth import AppDirectory
from bridge.legacy.idempotent import KEY_HEADER, respond_once
from bridge.legacy.keyed_passthrough import LegacyKeys
from bridge.legacy.operations import Call, Named
from bridge.observability.context import call_facts
from bridge.observability.metrics import Metrics
from bridge.orders.service import OrderService
from bridge.settings import AppConfig
from bridge.store.history import HistoryStore
from mappings.legacy.wire import HistoryOrderWire

ROUTE = web.RequestKey("route", Route)
"""The router's decision for this call (the shadow capture and the canary read it)."""

NAMING_AN_ORDER = frozenset({Operation.GET_ORDER, Operation.UPDATE_ORDER_STATUS})
_LOCATED = {Target.LOCAL: Located.LOCAL, Target.INCENTIVES: Located.INCENTIVES}
_KNOWN_CODES = frozenset(code.value for code in ErrorCode)


class Cutover:
    """Everything the request path needs to route a call (built by create_app)."""

    def __init__(
        self,
        directory: AppDirectory,
        router: Router,
        passthrough: LegacyPassthrough,
        service: OrderService,
        metrics: Metrics,
        history: HistoryStore | None = None,
        keys: LegacyKeys | None = None,
    ) -> None:
        self.directory = directory
        self.router = router
        self.passthrough = passthrough
        self.service = service
        self.metrics = metrics
        self.history = history
        self.keys = keys
        self._on_target: dict[tuple[str, Target], tuple[AppConfig, AppConfig]] = {}

    def route(
        self, app: AppConfig, operation: Operation, customer: str | None, located: Located | None
    ) -> Route:
        """Decide where the call goes, count the decision and note it on the log line."""
        route = self.router.decide(app, operation, customer, located)
        if located is Located.HISTORY and operation is Operation.UPDATE_ORDER_STATUS:
            _refuse_read_only(route)
        self.count(app, operation, route.target, route.reason)
        call_facts().canary = route.canary
        return route

    def count(self, app: AppConfig, operation: Operation, target: Target, reason: Reason) -> None:
        self.metrics.routing_counts(app.name, operation.value, target, reason).inc()
        call_facts().route_reason = reason.value

    async def serve_on(
        self,
        request: web.Request,
        app: AppConfig,
        operation: Operation,
        target: Target,
        call: Call,
        located: Located | None,
    ) -> web.StreamResponse:
        """Answer the call on `target`: forward to legacy, or run the operation here."""
        facts = call_facts()
        facts.target = target.value
        if target is not Target.LEGACY:
            served = self._app_on(app, target)
            once = functools.partial(respond_once, request, served)
            answer = await operations.OPERATIONS[operation](self.service, served, call, once)
            facts.legacy_code = answer.code
            return answer.response()
        if app.legacy_base_url is None:
            raise UpstreamError("The app has no legacy Orders API configured.", "legacy")
        forwarded = await self._forward(request, app, operation, app.legacy_base_url)
        facts.legacy_code = _legacy_code(forwarded)
        if facts.legacy_code is None and located is Located.HISTORY and self.history is not None:
            await _refresh_history(self.history, app, forwarded)
        return forwarded

    def _app_on(self, app: AppConfig, target: Target) -> AppConfig:
        """The app with `target` as its target, copied once per app and target."""
        cached = self._on_target.get((app.name, target))
        if cached is None or cached[0] is not app:
            cached = self._on_target[app.name, target] = (
                app,
                app.model_copy(update={"target": target}),
            )
        return cached[1]

    async def _forward(
        self, request: web.Request, app: AppConfig, operation: Operation, base_url: str
    ) -> web.Response:
        """Forward to legacy; a keyed write at most once per key."""
        forward = functools.partial(self.passthrough.forward, request, base_url, operation.value)
        keyed = KEY_HEADER in request.headers and operation in WRITES
        if keyed and self.keys is not None:
            return await self.keys.forward_once(request, app.name, operation.value, forward)
        return await forward()


CUTOVER = web.AppKey("cutover", Cutover)


async def serve_call(request: web.Request, operation: Operation) -> web.StreamResponse:
    """Answer one of the four order operations on the target the router chooses."""
    cutover = request.app[CUTOVER]
    facts = call_facts()
    facts.operation = operation.value
    info = request.match_info
    app = cutover.directory.authenticate(info["api_key"], request.headers.get("Authorization"))
    facts.app = app.name
    facts.customer = customer_key(info.get("user_id"), info.get("external_id"))
    named: Named | None = None
    located: Located | None = None
    if operation in NAMING_AN_ORDER:
        named = await operations.locate(cutover.service, app.name, info)
        facts.order_id = named.ref.order_id if named.ref is not None else None
        located = _located(named)
    call = Call(info, request.query, await request.read(), named)
    route = cutover.route(app, operation, facts.customer, located)
    request[ROUTE] = route
    try:
        return await cutover.serve_on(request, app, operation, route.target, call, located)
    except UpstreamError as exc:
        lost_write = isinstance(exc, ForwardLostError) and operation in WRITES
        if route.fallback is None or lost_write:
            raise
    cutover.metrics.fallbacks.labels(app.name, operation.value, route.target, route.fallback).inc()
    cutover.count(app, operation, route.fallback, Reason.FALLBACK)
    facts.fallback_from = route.target.value
    return await cutover.serve_on(request, app, operation, route.fallback, call, located)


def _located(named: Named) -> Located:
    """What the ledger knows about the named order, as the router reads it."""
    if named.order is None:
        return Located.UNKNOWN
    return _LOCATED.get(named.order.target, Located.HISTORY)


async def _refresh_history(history: HistoryStore, app: AppConfig, answer: web.Response) -> None:
    """Legacy changed an imported order: bring its history row up to date at once."""
    try:
        document = orjson.loads(answer.body if isinstance(answer.body, bytes) else b"")
        wire = HistoryOrderWire.model_validate(document["order"])
        await history.record(history_order(app.name, wire))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        structlog.get_logger().warning("history_refresh_skipped", reason=type(exc).__name__)


def _refuse_read_only(route: Route) -> None:
    """Imported history can only change on legacy; without legacy it is read-only."""
    if route.target is not Target.LEGACY:
        raise ImportedOrderReadOnly()


def _legacy_code(answer: web.Response) -> str | None:
    """The error code of a legacy error envelope (bounded to known codes), else None."""
    if answer.content_type != "application/json" or not isinstance(answer.body, bytes):
        return None
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("status") != "error":
        return None
    errors = document.get("errors")
    code = errors.get("code") if isinstance(errors, dict) else None
    return code if code in _KNOWN_CODES else "other"
