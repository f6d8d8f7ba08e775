"""The ten legacy Orders API routes. Handlers parse, call one service method, render."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from bridge.cutover.policy import Operation
from bridge.legacy import parsing
from bridge.legacy.auth import AppDirectory
from bridge.legacy.cutover import LOCATED_ORDER, ORDER_ID, ROUTED_APP, routed
from bridge.legacy.idempotent import respond_once
from bridge.legacy.openapi import add_document_route
from bridge.legacy.responses import json_response
from bridge.orders.service import OrderService
from bridge.settings import AppConfig
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire

SERVICE = web.AppKey("order_service", OrderService)
APPS = web.AppKey("app_directory", AppDirectory)

PREFIX = "/priv/v1/apps/{api_key}"


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


def _begin(request: web.Request) -> tuple[OrderService, AppConfig]:
    """The order service and the app `routed` authenticated, its target the chosen one (the
    operation, app and target are already on the request for logs and metrics)."""
    return request.app[SERVICE], request[ROUTED_APP]


@routed(Operation.CREATE_ORDER)
async def create_order(request: web.Request) -> web.Response:
    service, app = _begin(request)
    offer = parsing.offer_id(request.match_info)
    body = parsing.json_body(await request.read())
    command = parsing.place_order(request.match_info, offer, body)
    return await respond_once(
        request, app, "create_order", body, partial(service.create, app, command)
    )


@routed(Operation.LIST_ORDERS)
async def list_orders(request: web.Request) -> web.Response:
    service, app = _begin(request)
    selection = order_filter_from_query(request.query)
    customer = parsing.customer_ref(request.match_info)
    return json_response(ok_orders(await service.list(app, customer, selection)))


@routed(Operation.GET_ORDER)
async def get_order(request: web.Request) -> web.Response:
    service, app = _begin(request)
    order_id = request.get(ORDER_ID) or parsing.order_id(request.match_info["order_id"])
    customer = parsing.customer_ref(request.match_info)
    found = request.get(LOCATED_ORDER)
    return json_response(ok_order(await service.get(app, customer, order_id, found)))


@routed(Operation.UPDATE_ORDER_STATUS)
async def update_order_status(request: web.Request) -> web.Response:
    service, app = _begin(request)
    ref = parsing.order_ref(request.match_info)
    body = parsing.json_body(await request.read())
    status = requested_status_from_wire(body)
    return await respond_once(
        request, app, "update_order_status", body, partial(service.update_status, app, ref, status)
    )
