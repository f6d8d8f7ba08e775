"""The ten legacy Orders API routes: each one of the four order operations, answered by the
cutover (bridge/legacy/cutover.py) with bridge/legacy/operations.py."""

from __future__ import annotations

from aiohttp import web

from bridge.cutover.policy import Operation
from bridge.legacy.auth import AppDirectory
from bridge.legacy.cutover import serve_call
from bridge.legacy.openapi import add_document_route
from bridge.orders.service import OrderService

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


async def create_order(request: web.Request) -> web.StreamResponse:
    return await serve_call(request, Operation.CREATE_ORDER)


async def list_orders(request: web.Request) -> web.StreamResponse:
    return await serve_call(request, Operation.LIST_ORDERS)


async def get_order(request: web.Request) -> web.StreamResponse:
    return await serve_call(request, Operation.GET_ORDER)


async def update_order_status(request: web.Request) -> web.StreamResponse:
    return await serve_call(request, Operation.UPDATE_ORDER_STATUS)
