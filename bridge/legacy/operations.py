"""The four legacy order operations: a parsed call in, one order-service call, the legacy
answer out.

The routes run them on the target the cutover chose (bridge/legacy/cutover.py) and the shadow
executor on a shadow target (bridge/shadow/executor.py), so a call is read, served and
rendered the same way wherever it is served. An operation raises the legacy error its call
answers: the routes leave it to the error middleware (an unavailable upstream may still fall
back to another target), `serve` renders it for the shadow side.

Each operation parses the path before the body: that order decides which error a call with
several faults gets. A write is handed to `once` with its parsed body: the routes pass
`respond_once` (an `Idempotency-Key` runs it at most once), the shadow side `directly`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from bridge.canonical import Order, OrderRef
from bridge.cutover.policy import Operation
from bridge.errors import BridgeError
from bridge.legacy import parsing
from bridge.legacy.responses import Rendered, ok, refusal
from bridge.orders.idempotency import Write
from bridge.orders.service import OrderService
from bridge.settings import AppConfig
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire


@dataclass(frozen=True, slots=True)
class Named:
    """The order a get or status-update path names (None: no store can hold it) and what the
    order service's `locate` found for it: read once per call, before routing."""

    ref: OrderRef | None
    order: Order | None


@dataclass(frozen=True, slots=True)
class Call:
    """One legacy call as the operations read it."""

    match_info: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    named: Named | None = None
    """Set by the cutover for a get or status update; None: the operation locates it."""


Once = Callable[[Operation, Any, Write], Awaitable[Rendered]]
"""Run a write (operation, its parsed body, the service call) and render its order."""
Serve = Callable[[OrderService, AppConfig, Call, Once], Awaitable[Rendered]]


async def locate(service: OrderService, app: str, match_info: Mapping[str, str]) -> Named:
    """Parse the order the path names and read it (not read when no store can hold it)."""
    ref = parsing.named_order(match_info)
    return Named(ref, None if ref is None else await service.locate(app, ref))


async def directly(_operation: Operation, _body: Any, write: Write) -> Rendered:
    """Run a write once, here and now, and render its order."""
    return ok(ok_order(await write()))


async def create_order(service: OrderService, app: AppConfig, call: Call, once: Once) -> Rendered:
    offer = parsing.offer_id(call.match_info)
    body = parsing.json_body(call.body)
    command = parsing.place_order(call.match_info, offer, body)
    return await once(Operation.CREATE_ORDER, body, partial(service.create, app, command))


async def list_orders(service: OrderService, app: AppConfig, call: Call, _once: Once) -> Rendered:
    selection = order_filter_from_query(call.query)
    customer = parsing.customer_ref(call.match_info)
    return ok(ok_orders(await service.list(app, customer, selection)))


async def get_order(service: OrderService, app: AppConfig, call: Call, _once: Once) -> Rendered:
    named = call.named or await locate(service, app.name, call.match_info)
    order_id = named.ref.order_id if named.ref is not None else None
    if order_id is None:  # not an id: refused here, as not found
        order_id = parsing.order_id(call.match_info["order_id"])
    customer = parsing.customer_ref(call.match_info)
    return ok(ok_order(await service.get(app, customer, order_id, named.order)))


async def update_order_status(
    service: OrderService, app: AppConfig, call: Call, once: Once
) -> Rendered:
    named = call.named or await locate(service, app.name, call.match_info)
    ref = _named_ref(named, call)
    body = parsing.json_body(call.body)
    status = requested_status_from_wire(body)
    write = partial(service.update_status, app, ref, status, named.order)
    return await once(Operation.UPDATE_ORDER_STATUS, body, write)


def _named_ref(named: Named, call: Call) -> OrderRef:
    """The order the path names; one no store can hold is refused here with its error."""
    return named.ref if named.ref is not None else parsing.order_ref(call.match_info)


OPERATIONS: Mapping[Operation, Serve] = {
    Operation.CREATE_ORDER: create_order,
    Operation.LIST_ORDERS: list_orders,
    Operation.GET_ORDER: get_order,
    Operation.UPDATE_ORDER_STATUS: update_order_status,
}


async def serve(
    service: OrderService, app: AppConfig, operation: Operation, call: Call
) -> Rendered:
    """Run one operation, a write directly, its error rendered as the legacy envelope."""
    try:
        return await OPERATIONS[operation](service, app, call, directly)
    except BridgeError as exc:
        return refusal(exc.code, exc.message)
