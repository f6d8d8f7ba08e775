"""Serving the app with a graceful stop (docs/reliability.md, "Graceful shutdown").

On SIGTERM or SIGINT:

1. readiness (`/readyz`) answers 503 at once, while the listener still accepts calls, for
   `shutdown_drain_seconds`, so that load balancers stop sending before anything is refused;
2. the listener closes, idle keep-alive connections close, and calls in flight get
   `shutdown_timeout_seconds` to finish (each answer is sent whole, its connection then closed);
3. the app's cleanup runs: the outbox sender and the shadow runner stop (their rows and
   queues are persisted or counted as they document), the upstream sessions and the store close.

Connections are timed (docs/configuration.md, "Server timeouts"): a connection must send
its first request's headers within `header_timeout_seconds`, is closed after
`keepalive_timeout_seconds` without a complete request (idle keep-alive, or headers
trickling in after a first request), and a body must arrive within `body_timeout_seconds`
(bridge/legacy/middleware.py). What aiohttp refuses before the app sees a request (a request
line or header it cannot parse, a body encoding it cannot decode) is answered in the legacy
envelope too, by `LegacyRequestHandler.handle_error`; so is an `Expect` other than
`100-continue`, which aiohttp's own expect handler would answer before the app's middlewares
(a plain-text 417 echoing the value, a 500 for bytes that are not UTF-8).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from bridge.canonical import ErrorCode
from bridge.legacy.middleware import BODY_TIMEOUT, HTTP_ERRORS
from bridge.legacy.responses import error_response
from bridge.runtime.collector import settle_after_start
from bridge.runtime.health import DRAINING
from bridge.settings import Settings

log = structlog.get_logger()


def serve(app: web.Application, settings: Settings, *, reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully.

    `reuse_port` lets several worker processes listen on one port (bridge/runtime/workers.py).
    """
    asyncio.run(_serve(app, settings, reuse_port))


async def _serve(app: web.Application, settings: Settings, reuse_port: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = runner_for(app, settings)
    await runner.setup()
    frozen = settle_after_start()  # before listening: its one full collection holds the loop
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None)
        await site.start()
        log.info("server_started", host=settings.host, port=settings.port, gc_frozen=frozen)
        await stop.wait()
        app[DRAINING].set()
        log.info("shutdown_started", drain_seconds=settings.shutdown_drain_seconds)
        await asyncio.sleep(settings.shutdown_drain_seconds)
    finally:
        await runner.cleanup()
        log.info("shutdown_finished")


def runner_for(app: web.Application, settings: Settings) -> web.AppRunner:
    """The app's runner with the connection timeouts of `settings` (module docstring)."""
    app[BODY_TIMEOUT] = settings.body_timeout_seconds
    return LegacyRunner(
        app,
        settings.header_timeout_seconds,
        handle_signals=False,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        keepalive_timeout=settings.keepalive_timeout_seconds,
    )


class LegacyRequestHandler(RequestHandler):
    """aiohttp's connection handler with a deadline for the first request's headers and its
    own refusals rendered as the legacy envelope (never a traceback, never the peer's IP)."""

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._header_deadline = self._loop.call_later(self._header_timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_count and self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)

    def _headers_late(self) -> None:
        self._header_deadline = None
        if not self._request_count:
            log.info("connection_closed", reason="headers_not_received")
            self.force_close()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's own failures outside any handler, as one structured line instead of its
        stdlib "Unhandled exception" trace: a body that stops decoding while aiohttp drains
        the rest of it, after the call was already refused (400), is the client's, no trace."""
        exc = kw.get("exc_info")
        if isinstance(exc, RequestPayloadError):
            log.info("request_body_dropped", error=type(exc).__name__)
            return
        log.error("connection_failed", exc_info=exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # an answer has begun: the connection is broken
            raise ConnectionError("Response is sent already")
        if status >= 500:  # a failure outside the error middleware: keep its traceback
            log.error("request_failed", status=status, exc_info=exc)
        else:  # a request aiohttp could not parse: its text may hold credentials
            log.info("request_refused", status=status, error=type(exc).__name__ if exc else None)
        return _refusal(status)


def _refusal(status: int) -> web.Response:
    """The envelope for a request refused before the app: the connection is closed after."""
    default = ErrorCode.ARGUMENT_ERROR if status < 500 else ErrorCode.INTERNAL_SERVER_ERROR
    code, text = HTTP_ERRORS.get(status, (default, _reason(status)))
    response = error_response(code, text)
    response.set_status(status)
    response.force_close()
    return response


def _reason(status: int) -> str:
    return "The request could not be read." if status < 500 else "Internal server error."


def refusing_expectations(handler: Handler) -> Handler:
    """`handler`, but a request whose `Expect` is not `100-continue` (the only expectation
    HTTP defines) answers 417 `argument_error` before any route's expect handler runs."""

    async def handle(request: web.Request) -> web.StreamResponse:
        expect = request.headers.get("Expect")
        if expect and expect.lower() != "100-continue":
            log.info("request_refused", status=417, error="Expect")
            return _refusal(417)
        return await handler(request)

    return handle


class LegacyServer(web.Server):
    """aiohttp's server, making `LegacyRequestHandler`s."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        return LegacyRequestHandler(
            self, header_timeout=self._header_timeout, loop=self._loop, **self._kwargs
        )


class LegacyRunner(web.AppRunner):
    """An AppRunner whose server is a `LegacyServer` (same handler, factory and options)."""

    def __init__(self, app: web.Application, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return LegacyServer(
            refusing_expectations(plain.request_handler),
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            header_timeout=self._header_timeout,
            **self._kwargs,
        )
