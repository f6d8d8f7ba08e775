"""Request context, one canonical log line and the request metrics for every call."""

from __future__ import annotations

import time
import uuid

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.observability.context import APP_NAME, LEGACY_CODE, OPERATION, TARGET
from bridge.observability.metrics import Metrics

METRICS = web.AppKey("metrics", Metrics)
REQUEST_ID_HEADER = "X-Request-ID"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS]
    request_id = request.headers.get(REQUEST_ID_HEADER, "")[:128] or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    metrics.in_flight.inc()
    try:
        response = await handler(request)
    finally:
        metrics.in_flight.dec()
    elapsed = time.perf_counter() - started
    response.headers[REQUEST_ID_HEADER] = request_id
    operation = request.get(OPERATION)
    if operation is not None:
        app_name = request.get(APP_NAME, "unknown")
        target = request.get(TARGET, "local")
        code = request.get(LEGACY_CODE, "")
        outcome = "error" if code else "ok"
        metrics.requests.labels(app_name, operation, target, outcome, code).inc()
        metrics.request_duration.labels(operation, target).observe(elapsed)
        structlog.get_logger().info(
            "request_completed",
            app=app_name,
            operation=operation,
            target=target,
            status=response.status,
            legacy_code=code or None,
            duration_ms=round(elapsed * 1000, 3),
        )
    return response
