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

from bridge.canonical import CustomerRef, ErrorCode, OrderRef, Target
from bridge.errors import BridgeError, RequestError, RuleError
from bridge.legacy.responses import error_response
from bridge.orders.service import OrderService
from bridge.policy import WRITES, Operation
from bridge.settings import AppConfig
from bridge.shadow.exchange import Answer, Exchange
from mappings.legacy.create_order import place_order_from_wire
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire

MAX_ID_LENGTH = 255
MAX_ID_DIGITS = 18

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
    raw_offer = exchange.match_info["offer_id"]
    if not _is_id(raw_offer):
        raise RuleError(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is not available.")
    command = place_order_from_wire(
        _json_body(exchange.body), _customer(exchange.match_info), int(raw_offer)
    )
    return ok_order(await service.create(app, command))


async def _list(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    selection = order_filter_from_query(exchange.query)
    return ok_orders(await service.list(app, _customer(exchange.match_info), selection))


async def _get(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    order_id = _order_id(exchange.match_info["order_id"])
    return ok_order(await service.get(app, _customer(exchange.match_info), order_id))


async def _update(service: OrderService, app: AppConfig, exchange: Exchange) -> dict[str, Any]:
    info = exchange.match_info
    if "order_id" in info:
        ref = OrderRef(order_id=_order_id(info["order_id"]))
    else:
        ref = OrderRef(external_id=_bounded(info["external_order_id"], "external_order_id"))
    status = requested_status_from_wire(_json_body(exchange.body))
    return ok_order(await service.update_status(app, ref, status))


SERVERS: Mapping[Operation, Serve] = {
    Operation.CREATE_ORDER: _create,
    Operation.LIST_ORDERS: _list,
    Operation.GET_ORDER: _get,
    Operation.UPDATE_ORDER_STATUS: _update,
}


def _customer(info: Mapping[str, str]) -> CustomerRef:
    if "user_id" in info:
        return CustomerRef(user_id=_bounded(info["user_id"], "user_id"))
    return CustomerRef(external_id=_bounded(info["external_id"], "external_id"))


def _bounded(value: str, name: str) -> str:
    if len(value) > MAX_ID_LENGTH:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, f"{name} is too long.", name)
    return value


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS


def _order_id(raw: str) -> int:
    if not _is_id(raw):
        raise RuleError(ErrorCode.NOT_FOUND, f"Order {raw[:40]!r} was not found.")
    return int(raw)


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, "The request body is not valid JSON.") from exc
