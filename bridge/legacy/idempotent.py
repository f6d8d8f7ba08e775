"""The `Idempotency-Key` header on the legacy write routes (contract: docs/idempotency.md).

Handlers hand their service call to `respond_once`; without the header it is called as
usual, with it the order service's `Idempotency` runs it at most once per app and key.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import Order
from bridge.cutover.policy import Operation
from bridge.errors import BridgeError, KeyReused
from bridge.legacy.responses import REPLAYED_HEADER, Rendered, ok, refusal
from bridge.observability.context import call_facts
from bridge.observability.middleware import METRICS
from bridge.orders.idempotency import Idempotency, Renderer, Reply, Write, WriteRequest
from bridge.settings import AppConfig
from mappings.legacy.order import ok_order

IDEMPOTENCY = web.AppKey("idempotency", Idempotency)
KEY_HEADER = "Idempotency-Key"
__all__ = ["IDEMPOTENCY", "KEY_HEADER", "LEGACY_RENDERER", "REPLAYED_HEADER", "respond_once"]


def _reply(rendered: Rendered) -> Reply:
    return Reply(rendered.status, rendered.body.decode(), code=rendered.code)


def _render_error(exc: BridgeError) -> Reply:
    return _reply(refusal(exc.code, exc.message))


def _render_order(order: Order) -> Reply:
    return _reply(ok(ok_order(order)))


LEGACY_RENDERER = Renderer(order=_render_order, error=_render_error)


async def respond_once(
    request: web.Request, app: AppConfig, operation: Operation, body: Any, write: Write
) -> Rendered:
    """Answer a write; with an Idempotency-Key, the same answer for every retry."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return ok(ok_order(await write()))
    write_request = WriteRequest(
        operation=operation.value,
        method=request.method,
        route=route_template(request),
        params={name: value for name, value in request.match_info.items() if name != "api_key"},
        body=body,
    )
    replays = request.app[METRICS].idempotent_replays
    try:
        reply = await request.app[IDEMPOTENCY].run(
            app.name, key, write_request, write, LEGACY_RENDERER
        )
    except KeyReused:
        replays.labels(app.name, operation.value, "rejected").inc()  # same key, other request
        raise
    if not reply.replayed:
        return Rendered(reply.status, reply.body.encode(), reply.code)
    replays.labels(app.name, operation.value, "replayed").inc()
    call_facts().idempotent_replay = True
    body_bytes = reply.body.encode()
    return Rendered(reply.status, body_bytes, _stored_code(body_bytes), replayed=True)


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _stored_code(body: bytes) -> str | None:
    """The legacy code of a stored answer replayed from the key's row (which keeps status
    and body only): read from the body, the one time the code is not carried."""
    document = orjson.loads(body)
    if document.get("status") != "error":
        return None
    return str(document["errors"]["code"])
