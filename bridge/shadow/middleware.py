"""Capture a routed call once its primary answer is ready, for the runner and the recorder.

`capture_call` is the observability middleware's `AFTER_ANSWER` hook (set by
bridge/shadow/context.py), so it sees the final legacy answer (errors already rendered as the
envelope) and never changes it: the response object goes out untouched, and capturing is a
few attribute reads plus a non-blocking queue put. A failure here is logged and swallowed.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from bridge.backends.passthrough import forwarded_headers
from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.legacy.cutover import ROUTE
from bridge.observability.context import CallFacts
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.recorder import Recorder
from bridge.shadow.runner import ShadowRunner

SHADOW_RUNNER = web.AppKey("shadow_runner", ShadowRunner)
RECORDER = web.AppKey("shadow_recorder", Recorder)

log = structlog.get_logger()


async def capture_call(
    request: web.Request, response: web.StreamResponse, facts: CallFacts
) -> None:
    route = request.get(ROUTE)
    if route is None or facts.operation is None or not isinstance(response, web.Response):
        return
    if not isinstance(response.body, bytes):
        return
    runner = request.app.get(SHADOW_RUNNER)
    recorder = request.app.get(RECORDER)
    if runner is None or (route.shadow is None and recorder is None):
        return
    try:
        target = Target(facts.target or route.target.value)
        exchange = await capture(request, response, Operation(facts.operation), target)
        if recorder is not None:
            recorder.offer(exchange)
        if route.shadow is not None and runner.offer(exchange, route.shadow):
            facts.shadow_target = route.shadow.target.value
    except Exception:  # the primary answer must go out whatever happens here
        log.exception("shadow_capture_failed")


async def capture(
    request: web.Request, response: web.Response, operation: Operation, target: Target
) -> Exchange:
    app = request.app[SHADOW_RUNNER].app_config(request.match_info["api_key"])
    body = response.body if isinstance(response.body, bytes) else b""
    return Exchange(
        app=app,
        operation=operation,
        method=request.method,
        raw_path=request.raw_path,
        match_info=dict(request.match_info),
        query=dict(request.query),
        headers=tuple(forwarded_headers(request).items()),
        body=await request.read(),
        primary_target=target,
        primary=Answer(response.status, body),
    )
