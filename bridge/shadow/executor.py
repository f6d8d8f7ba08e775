"""Run a captured legacy call on a shadow target and render the answer in legacy format.

- `legacy`: the call is forwarded to the app's legacy base URL (own session and timeout).
- `local` / `incentives`: the call is parsed by the same legacy mapping modules as the routes
  and served by an order service, then rendered with the same envelope. With a shadow store
  (`BRIDGE_SHADOW__DATABASE_URL`) every such call is served by the *shadow service* built on
  it, so the shadow side is one consistent world (a shadowed create is listed by a shadowed
  list) and a shadowed write never touches the primary's store, ledger or balances. Without
  a shadow store, reads use the bridge's own order service and writes are never shadowed
  (ShadowSkipped).

The runner's timeout bounds every call; an exception here becomes an `error` comparison.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson
from yarl import URL

from bridge.canonical import Target
from bridge.cutover.policy import WRITES, Operation
from bridge.errors import BridgeError
from bridge.legacy import parsing
from bridge.legacy.responses import error_response
from bridge.orders.service import OrderService
from bridge.settings import AppConfig
from bridge.shadow.exchange import Answer, Exchange
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire

Serve = Callable[[OrderService, AppConfig, Exchange], Awaitable[dict[str, Any]]]


class ShadowSkipped(Exception):
    """The call cannot be shadowed safely on that target (counted as dropped)."""


class ShadowExecutor:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        bridge_service: OrderService,
        shadow_service: OrderService | None,
    ) -> None:
        self._session = session
        self._bridge_service = bridge_service
        self._shadow_service = shadow_service

    async def run(self, exchange: Exchange, target: Target) -> Answer:
        if target is Target.LEGACY:
            return await self.forward(exchange)
        service = self._shadow_service or self._bridge_service
        if exchange.operation in WRITES and self._shadow_service is None:
            raise ShadowSkipped("writes are shadowed only on a separate shadow store")
        return await serve_here(
            service, exchange.app.model_copy(update={"target": target}), exchange
        )

    async def forward(self, exchange: Exchange) -> Answer:
        base = exchange.app.legacy_base_url
        if base is None:
            raise ShadowSkipped("the app has no legacy_base_url")
        async with self._session.request(
            exchange.method,
            URL(base + exchange.raw_path, encoded=True),
            data=exchange.body or None,
            headers=list(exchange.headers),
            allow_redirects=False,
        ) as answer:
            return Answer(answer.status, await answer.read())


async def serve_here(service: OrderService, app: AppConfig, exchange: Exchange) -> Answer:
    """Parse, serve and render like the legacy routes do (errors as the legacy envelope)."""
    try:
        payload = await SERVERS[exchange.operation](service, app, exchange)
    except BridgeError as exc:
        response = error_response(exc.code, exc.message)
        body = response.body if isinstance(response.body, bytes) else b""
        return Answer(response.status, body)
    return Answer(200, orjson.dumps(payload))


async def _create(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    offer = parsing.offer_id(exchange.match_info)
    body = parsing.json_body(exchange.body)
    command = parsing.place_order(exchange.match_info, offer, body)
    return ok_order(await service.create(app, command))


async def _list(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    selection = order_filter_from_query(exchange.query)
    customer = parsing.customer_ref(exchange.match_info)
    return ok_orders(await service.list(app, customer, selection))


async def _get(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    order_id = parsing.order_id(exchange.match_info["order_id"])
    customer = parsing.customer_ref(exchange.match_info)
    return ok_order(await service.get(app, customer, order_id))


async def _update(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    ref = parsing.order_ref(exchange.match_info)
    status = requested_status_from_wire(parsing.json_body(exchange.body))
    return ok_order(await service.update_status(app, ref, status))


SERVERS: Mapping[Operation, Serve] = {
    Operation.CREATE_ORDER: _create,
    Operation.LIST_ORDERS: _list,
    Operation.GET_ORDER: _get,
    Operation.UPDATE_ORDER_STATUS: _update,
}
