"""Operational routes: liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

import asyncio
import os

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bridge.legacy.responses import json_response
from bridge.observability.middleware import METRICS
from bridge.store.executor import Database, read_value
from bridge.store.statements import Query

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""Set by `serve --workers N`: the workers' metric files, summed by every scrape."""
DATABASE = web.AppKey("database", Database)
PING = Query(sa.select(sa.literal(1)))
DRAINING = web.AppKey("draining", asyncio.Event)
"""Set when the process is stopping (bridge/runtime/serving.py): readiness then answers 503."""


def add_health_routes(app: web.Application) -> None:
    app[DRAINING] = asyncio.Event()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the store answers and the process is not stopping; also `bridge_ready`."""
    ready = request.app[METRICS].ready
    if request.app[DRAINING].is_set():
        ready.set(0)
        return json_response({"status": "unavailable", "reason": "shutting_down"}, 503)
    try:
        await read_value(request.app[DATABASE], PING)
    except Exception as exc:  # readiness reports any failure, it never raises
        ready.set(0)
        return json_response({"status": "unavailable", "reason": type(exc).__name__}, 503)
    ready.set(1)
    return json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """This process's registry; with `serve --workers N`, every worker's (runtime/workers.py)."""
    registry = request.app[METRICS].registry
    if MULTIPROCESS_DIR in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
