"""The `Idempotency-Key` header on the legacy write routes (contract: docs/idempotency.md).

Handlers hand their service call to `respond_once`; without the header it is called as
usual, with it the order service's `Idempotency` runs it at most once per app and key.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import ErrorCode, Order
from bridge.errors import BridgeError, RequestError
from bridge.legacy.responses import error_response, json_response
from bridge.observability.context import LEGACY_CODE, call_facts
from bridge.observability.middleware import METRICS
from bridge.orders.idempotency import Idempotency, Renderer, Reply, Write, WriteRequest
from bridge.settings import AppConfig
from mappings.legacy.order import ok_order

IDEMPOTENCY = web.AppKey("idempotency", Idempotency)
KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def _render_error(exc: BridgeError) -> Reply:
    response = error_response(exc.code, exc.message)
    return Reply(response.status, _text(response))


def _render_order(order: Order) -> Reply:
    return Reply(200, orjson.dumps(ok_order(order)).decode())


def _text(response: web.Response) -> str:
    body = response.body
    return body.decode() if isinstance(body, bytes) else ""


LEGACY_RENDERER = Renderer(order=_render_order, error=_render_error)


async def respond_once(
    request: web.Request, app: AppConfig, operation: str, body: Any, write: Write
) -> web.Response:
    """Answer a write; with an Idempotency-Key, the same answer for every retry."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return json_response(ok_order(await write(None)))
    write_request = WriteRequest(
        operation=operation,
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
    except RequestError as exc:
        if exc.code is ErrorCode.VALIDATION and exc.field == KEY_HEADER:
            replays.labels(app.name, operation, "rejected").inc()  # same key, other request
        raise
    response = web.Response(
        body=reply.body.encode(), status=reply.status, content_type="application/json"
    )
    if reply.replayed:
        response.headers[REPLAYED_HEADER] = "true"
        replays.labels(app.name, operation, "replayed").inc()
        call_facts().idempotent_replay = True
    code = _error_code(reply)
    if code is not None:
        request[LEGACY_CODE] = code
    return response


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _error_code(reply: Reply) -> str | None:
    """The legacy code of an error reply, for the request's metrics and log line."""
    document = orjson.loads(reply.body)
    if document.get("status") != "error":
        return None
    return str(document["errors"]["code"])
