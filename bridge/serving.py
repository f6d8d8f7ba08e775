"""Serving the app with a graceful stop (docs/reliability.md, "Graceful shutdown").

On SIGTERM or SIGINT:

1. readiness (`/readyz`) answers 503 at once, while the listener still accepts calls, for
   `shutdown_drain_seconds`, so that load balancers stop sending before anything is refused;
2. the listener closes, idle keep-alive connections close, and calls in flight get
   `shutdown_timeout_seconds` to finish (each answer is sent whole, its connection then closed);
3. the app's cleanup runs: the outbox sender and the shadow runner stop (their rows and
   queues are persisted or counted as they document), the upstream sessions and the store close.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from bridge.health import DRAINING
from bridge.settings import Settings

log = structlog.get_logger()


def serve(app: web.Application, settings: Settings, *, reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully.

    `reuse_port` lets several worker processes listen on one port (bridge/workers.py).
    """
    asyncio.run(_serve(app, settings, reuse_port))


async def _serve(app: web.Application, settings: Settings, reuse_port: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=settings.shutdown_timeout_seconds
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None)
        await site.start()
        log.info("server_started", host=settings.host, port=settings.port)
        await stop.wait()
        app[DRAINING].set()
        log.info("shutdown_started", drain_seconds=settings.shutdown_drain_seconds)
        await asyncio.sleep(settings.shutdown_drain_seconds)
    finally:
        await runner.cleanup()
        log.info("shutdown_finished")
