"""The cutover in the request path: ask the router, then forward to legacy or serve here.

Each legacy handler is wrapped by `routed(operation)`: the app is authenticated, the order a
get/update names is located in the ledger, the router decides (target, reason), the decision
is counted and put on the call's log line, and then either the legacy passthrough answers
(the order service is skipped) or the handler runs with the app's target set to the chosen
one. When the chosen target's upstream is unavailable and the policy allows
`fallback: local`, the handler runs again on the local target (counted as a fallback); never
after a write whose answer was lost on its way back from legacy, which may have placed it.

A write with an `Idempotency-Key` is held in front of the passthrough as on every target
(`bridge/legacy/keyed_passthrough.py`): forwarded at most once per key.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web

from bridge.backends.passthrough import ForwardLostError, LegacyPassthrough
from bridge.canonical import ErrorCode, Order, OrderRef, Target
from bridge.cutover.backfill import HistoryOrderWire, history_order
from bridge.cutover.policy import WRITES, Operation
from bridge.cutover.router import Located, Reason, Route, Router, customer_key
from bridge.errors import RuleError, UpstreamError
from bridge.legacy import parsing
from bridge.legacy.auth import AppDirectory
from bridge.legacy.idempotent import KEY_HEADER
from bridge.legacy.keyed_passthrough import LegacyKeys
from bridge.observability.context import APP_NAME, LEGACY_CODE, OPERATION, TARGET, call_facts
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig
from bridge.store.history import HistoryStore
from bridge.store.ledger import Ledger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROUTED_APP = web.RequestKey("routed_app", AppConfig)
"""The authenticated app with `target` set to the target chosen for this call."""
ROUTE = web.RequestKey("route", Route)
"""The router's decision for this call (the shadow runner reads `route.shadow`)."""
LOCATED = web.RequestKey("located", Located)
"""What the ledger knew about the order a get/update names."""
LOCATED_ORDER = web.RequestKey("located_order", Order)
"""The order the locator read, when its outcome is settled (a get need not read it again)."""
ORDER_ID = web.RequestKey("order_id", int)
"""The integer order id the path names, parsed once by the locator."""

_LOCATED = {Target.LOCAL: Located.LOCAL, Target.INCENTIVES: Located.INCENTIVES}
_KNOWN_CODES = frozenset(code.value for code in ErrorCode)


class Cutover:
    """Everything the request path needs to route a call (built by create_app)."""

    def __init__(
        self,
        directory: AppDirectory,
        router: Router,
        passthrough: LegacyPassthrough,
        ledger: Ledger,
        metrics: Metrics,
        history: HistoryStore | None = None,
        keys: LegacyKeys | None = None,
    ) -> None:
        self.directory = directory
        self.router = router
        self.passthrough = passthrough
        self.ledger = ledger
        self.metrics = metrics
        self.history = history
        self.keys = keys

    async def route(self, request: web.Request, app: AppConfig, operation: Operation) -> Route:
        """Decide where the call goes, count the decision and note it on the log line."""
        located = None
        if operation in (Operation.GET_ORDER, Operation.UPDATE_ORDER_STATUS):
            located = await self._locate(request, app)
            request[LOCATED] = located
        info = request.match_info
        customer = customer_key(info.get("user_id"), info.get("external_id"))
        route = self.router.decide(app, operation, customer, located)
        if located is Located.HISTORY and operation is Operation.UPDATE_ORDER_STATUS:
            _refuse_read_only(route)
        self.count(app, operation, route.target, route.reason)
        call_facts().canary = route.canary
        return route

    def count(self, app: AppConfig, operation: Operation, target: Target, reason: Reason) -> None:
        self.metrics.routing_decisions.labels(app.name, operation.value, target, reason).inc()
        call_facts().route_reason = reason.value

    async def serve_on(
        self, request: web.Request, app: AppConfig, target: Target, handler: Handler
    ) -> web.StreamResponse:
        """Answer the call on `target`: forward to legacy, or run the handler here."""
        request[TARGET] = target.value
        if target is not Target.LEGACY:
            request[ROUTED_APP] = app.model_copy(update={"target": target})
            return await handler(request)
        if app.legacy_base_url is None:
            raise UpstreamError("The app has no legacy Orders API configured.", "legacy")
        answer = await self._forward(request, app, app.legacy_base_url)
        code = _legacy_code(answer)
        if code is not None:
            request[LEGACY_CODE] = code
        elif request.get(LOCATED) is Located.HISTORY and self.history is not None:
            await _refresh_history(self.history, app, answer)
        return answer

    async def _forward(self, request: web.Request, app: AppConfig, base_url: str) -> web.Response:
        """Forward to legacy; a keyed write at most once per key."""
        operation = request[OPERATION]
        forward = functools.partial(self.passthrough.forward, request, base_url, operation)
        keyed = KEY_HEADER in request.headers and Operation(operation) in WRITES
        if keyed and self.keys is not None:
            return await self.keys.forward_once(request, app.name, operation, forward)
        return await forward()

    async def _locate(self, request: web.Request, app: AppConfig) -> Located:
        ref = _order_ref(request.match_info)
        if ref is None:
            return Located.UNKNOWN
        if ref.order_id is not None:
            request[ORDER_ID] = ref.order_id
        found = await self.ledger.locate(app.name, ref)
        if found is None:
            return Located.UNKNOWN
        order, settled = found
        if settled:
            request[LOCATED_ORDER] = order
        return _LOCATED.get(order.target, Located.HISTORY)


CUTOVER = web.AppKey("cutover", Cutover)


def routed(operation: Operation) -> Callable[[Handler], Handler]:
    """Wrap a legacy handler so the cutover router decides where the call is served."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def serve(request: web.Request) -> web.StreamResponse:
            cutover = request.app[CUTOVER]
            request[OPERATION] = operation.value
            app = cutover.directory.authenticate(
                request.match_info["api_key"], request.headers.get("Authorization")
            )
            request[APP_NAME] = app.name
            route = await cutover.route(request, app, operation)
            request[ROUTE] = route
            try:
                return await cutover.serve_on(request, app, route.target, handler)
            except UpstreamError as exc:
                lost_write = isinstance(exc, ForwardLostError) and operation in WRITES
                if route.fallback is None or lost_write:
                    raise
            cutover.metrics.fallbacks.labels(
                app.name, operation.value, route.target, route.fallback
            ).inc()
            cutover.count(app, operation, route.fallback, Reason.FALLBACK)
            call_facts().fallback_from = route.target.value
            return await cutover.serve_on(request, app, route.fallback, handler)

        return serve

    return wrap


async def _refresh_history(history: HistoryStore, app: AppConfig, answer: web.Response) -> None:
    """Legacy changed an imported order: bring its history row up to date at once."""
    try:
        document = orjson.loads(answer.body if isinstance(answer.body, bytes) else b"")
        wire = HistoryOrderWire.model_validate(document["order"])
        await history.record(history_order(app.name, wire))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        structlog.get_logger().warning("history_refresh_skipped", reason=type(exc).__name__)


def _order_ref(info: web.UrlMappingMatchInfo) -> OrderRef | None:
    """The order a get/update path names, or None when it cannot be an order of ours."""
    raw = info.get("order_id")
    if raw is not None:
        return OrderRef(order_id=int(raw)) if parsing.is_id(raw) else None
    external = info.get("external_order_id")
    if external is None or len(external) > parsing.MAX_ID_LENGTH:
        return None
    return OrderRef(external_id=external)


def _refuse_read_only(route: Route) -> None:
    """Imported history can only change on legacy; without legacy it is read-only."""
    if route.target is not Target.LEGACY:
        raise RuleError(
            ErrorCode.INVALID_ORDER_STATUS,
            "The order was imported from the legacy API and cannot change here.",
        )


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
