"""The ten legacy Orders API routes. Handlers parse, call one service method, render."""

from __future__ import annotations

from functools import partial
from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import CustomerRef, ErrorCode, OrderRef
from bridge.errors import RequestError, RuleError
from bridge.legacy.auth import AppDirectory
from bridge.legacy.cutover import ROUTED_APP, routed
from bridge.legacy.idempotent import respond_once
from bridge.legacy.openapi import add_document_route
from bridge.legacy.responses import json_response
from bridge.observability.context import APP_NAME, OPERATION, TARGET
from bridge.orders.service import OrderService
from bridge.policy import Operation
from bridge.settings import AppConfig
from mappings.legacy.create_order import place_order_from_wire
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire

SERVICE = web.AppKey("order_service", OrderService)
APPS = web.AppKey("app_directory", AppDirectory)

PREFIX = "/priv/v1/apps/{api_key}"
MAX_ID_LENGTH = 255


def add_routes(app: web.Application) -> None:
    for customer in ("users/{user_id}", "external/users/{external_id}"):
        base = f"{PREFIX}/{customer}"
        app.router.add_post(f"{base}/offers/{{offer_id}}/orders", create_order)
        app.router.add_get(f"{base}/orders", list_orders)
        app.router.add_get(f"{base}/orders/{{order_id}}", get_order)
    for order in ("orders/{order_id}", "external/orders/{external_order_id}"):
        app.router.add_post(f"{PREFIX}/{order}", update_order_status)
        app.router.add_put(f"{PREFIX}/{order}", update_order_status)
    add_document_route(app)


def _begin(request: web.Request, operation: str) -> tuple[OrderService, AppConfig]:
    """Name the operation for logs and metrics, and authenticate the app."""
    request[OPERATION] = operation
    app = request.get(ROUTED_APP) or request.app[APPS].authenticate(
        request.match_info["api_key"], request.headers.get("Authorization")
    )
    request[APP_NAME] = app.name
    request[TARGET] = app.target.value
    return request.app[SERVICE], app


def _customer_ref(request: web.Request) -> CustomerRef:
    if "user_id" in request.match_info:
        return CustomerRef(user_id=_bounded(request.match_info["user_id"], "user_id"))
    return CustomerRef(external_id=_bounded(request.match_info["external_id"], "external_id"))


def _bounded(value: str, name: str) -> str:
    if len(value) > MAX_ID_LENGTH:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, f"{name} is too long.", name)
    return value


def _is_id(raw: str) -> bool:
    """An integer id as the store holds it: ASCII digits (not any Unicode digit), 18 at most."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def _order_id(raw: str) -> int:
    if not _is_id(raw):
        raise RuleError(ErrorCode.NOT_FOUND, f"Order {raw[:40]!r} was not found.")
    return int(raw)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, "The request body is not valid JSON.") from exc


@routed(Operation.CREATE_ORDER)
async def create_order(request: web.Request) -> web.Response:
    service, app = _begin(request, "create_order")
    raw_offer = request.match_info["offer_id"]
    if not _is_id(raw_offer):
        raise RuleError(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is not available.")
    body = await _json_body(request)
    command = place_order_from_wire(body, _customer_ref(request), int(raw_offer))
    return await respond_once(
        request, app, "create_order", body, partial(service.create, app, command)
    )


@routed(Operation.LIST_ORDERS)
async def list_orders(request: web.Request) -> web.Response:
    service, app = _begin(request, "list_orders")
    selection = order_filter_from_query(request.query)
    return json_response(ok_orders(await service.list(app, _customer_ref(request), selection)))


@routed(Operation.GET_ORDER)
async def get_order(request: web.Request) -> web.Response:
    service, app = _begin(request, "get_order")
    order_id = _order_id(request.match_info["order_id"])
    return json_response(ok_order(await service.get(app, _customer_ref(request), order_id)))


@routed(Operation.UPDATE_ORDER_STATUS)
async def update_order_status(request: web.Request) -> web.Response:
    service, app = _begin(request, "update_order_status")
    if "order_id" in request.match_info:
        ref = OrderRef(order_id=_order_id(request.match_info["order_id"]))
    else:
        name = "external_order_id"
        ref = OrderRef(external_id=_bounded(request.match_info[name], name))
    body = await _json_body(request)
    status = requested_status_from_wire(body)
    return await respond_once(
        request, app, "update_order_status", body, partial(service.update_status, app, ref, status)
    )
