"""Request id, one canonical log line and the request metrics for every legacy call.

The outermost middleware: it starts the call's `CallFacts` (bridge/observability/context.py),
lets the `AFTER_ANSWER` hook see each final answer (the shadow capture, when the app has one:
bridge/shadow/middleware.py) and then counts and logs the call from its facts.

The request id is taken from `X-Request-ID` when it is a plain token (letters, digits,
`._:-`, at most 128 characters), otherwise generated; either way it is bound to every log
line of the call and returned in the response's `X-Request-ID`.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.canonical import ErrorCode
from bridge.observability.context import CallFacts, begin_call
from bridge.observability.logging import write_line
from bridge.observability.metrics import Metrics

AfterAnswer = Callable[[web.Request, web.StreamResponse, CallFacts], Awaitable[None]]
"""Sees a call's final answer (errors rendered) before it is logged; must not raise."""

METRICS = web.AppKey("metrics", Metrics)
AFTER_ANSWER: web.AppKey[AfterAnswer] = web.AppKey("after_answer")
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CANCELLED_STATUS = 499
"""Status recorded (never sent) for a call whose client went away before the answer."""


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a plain token, else a new one."""
    if header is not None and REQUEST_ID_PATTERN.fullmatch(header):
        return header
    return os.urandom(16).hex()


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS]
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    facts = begin_call()
    started = time.perf_counter()
    status = 500
    metrics.calls_in_flight += 1
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        after = request.app.get(AFTER_ANSWER)
        if after is not None and facts.operation is not None:
            await after(request, response, facts)
        return response
    except web.HTTPException as exc:  # redirects and the like pass through unchanged
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    except asyncio.CancelledError:
        status = CANCELLED_STATUS
        raise
    finally:
        metrics.calls_in_flight -= 1
        if facts.operation is not None:
            record_call(metrics, facts, request_id, status, time.perf_counter() - started)


def record_call(
    metrics: Metrics, facts: CallFacts, request_id: str, status: int, elapsed: float
) -> None:
    """Count the call and write its one canonical log line."""
    operation = facts.operation
    app_name = facts.app or "unknown"
    target = facts.target or "none"
    code = facts.legacy_code or ""
    if not code and status >= 500:
        code = ErrorCode.INTERNAL_SERVER_ERROR.value
    outcome = "cancelled" if status == CANCELLED_STATUS else ("error" if code else "ok")
    metrics.request_counts(app_name, operation, target, outcome, code).inc()
    metrics.request_durations(operation, target).observe(elapsed)
    fields: dict[str, object] = {
        "app": app_name,
        "operation": operation,
        "target": target,
        "outcome": outcome,
        "status": status,
        "legacy_code": code or None,
        "duration_ms": round(elapsed * 1000, 3),
    }
    facts.add_log_fields(fields)
    write_line("warning" if status >= 500 else "info", "request_completed", fields, request_id)
