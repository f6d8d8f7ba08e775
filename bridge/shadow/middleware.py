"""Capture a routed call once its primary answer is ready, for the runner and the recorder.

Sits between the observability middleware and the error middleware, so it sees the final
legacy answer (errors already rendered as the envelope) and never changes it: the response
object is returned untouched, and capturing is a few attribute reads plus a non-blocking
queue put. A failure here is logged and swallowed.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.backends.passthrough import forwarded_headers
from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.cutover.router import Route
from bridge.legacy.cutover import ROUTE
from bridge.observability.context import OPERATION, TARGET, call_facts
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.recorder import Recorder
from bridge.shadow.runner import ShadowRunner

SHADOW_RUNNER = web.AppKey("shadow_runner", ShadowRunner)
RECORDER = web.AppKey("shadow_recorder", Recorder)
ROUTED_APP_NAME = web.RequestKey("shadow_app", str)

log = structlog.get_logger()


@web.middleware
async def shadow_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    route = request.get(ROUTE)
    if route is None or not isinstance(response, web.Response):
        return response
    if not isinstance(response.body, bytes):
        return response
    runner = request.app.get(SHADOW_RUNNER)
    recorder = request.app.get(RECORDER)
    if runner is None or (route.shadow is None and recorder is None):
        return response
    try:
        exchange = await capture(request, response, route)
        if recorder is not None:
            recorder.offer(exchange)
        if route.shadow is not None and runner.offer(exchange, route.shadow):
            call_facts().shadow_target = route.shadow.target.value
    except Exception:  # the primary answer must go out whatever happens here
        log.exception("shadow_capture_failed")
    return response


async def capture(request: web.Request, response: web.Response, route: Route) -> Exchange:
    app = request.app[SHADOW_RUNNER].app_config(request.match_info["api_key"])
    body = response.body if isinstance(response.body, bytes) else b""
    return Exchange(
        app=app,
        operation=Operation(request[OPERATION]),
        method=request.method,
        raw_path=request.raw_path,
        match_info=dict(request.match_info),
        query=dict(request.query),
        headers=tuple(forwarded_headers(request).items()),
        body=await request.read(),
        primary_target=Target(request.get(TARGET, route.target.value)),
        primary=Answer(response.status, body),
    )
