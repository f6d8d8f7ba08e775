"""create_sandbox_app: the Incentives sandbox as an aiohttp application.

`orders-bridge sandbox` serves it; tests start it on port 0 and point a bridge at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bridge.clock import Clock, SystemClock
from bridge.crypto import EmailCipher
from bridge.errors import DomainError
from bridge.sandbox.config import SandboxConfig
from bridge.sandbox.errors import SandboxError, connect_error, connect_refusal, core_error
from bridge.sandbox.routes import CLOCK, CONFIG, STORE, add_routes
from bridge.store.database import run_on_connection
from bridge.store.executor import open_database
from bridge.store.sandbox import SandboxStore, create_tables

CORE_PREFIX = "/priv/"


@web.middleware
async def sandbox_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure as the caller's envelope: the Connect DTO, or Core's legacy one."""
    render = core_error if request.path.startswith(CORE_PREFIX) else connect_error
    try:
        return await handler(request)
    except SandboxError as exc:
        return render(exc)
    except DomainError as exc:
        return render(connect_refusal(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"status": "error", "errors": {"code": "not_found", "message": exc.reason}}
        return web.Response(
            body=orjson.dumps(body), status=exc.status, content_type="application/json"
        )
    except Exception:
        structlog.get_logger().exception("sandbox_request_failed")
        body = {"status": "error", "errors": {"code": "internal", "message": "Internal error."}}
        return web.Response(body=orjson.dumps(body), status=500, content_type="application/json")


def create_sandbox_app(
    config: SandboxConfig,
    database_url: str,
    email_keys: Sequence[str],
    *,
    clock: Clock | None = None,
    middlewares: Sequence[Middleware] = (),
) -> web.Application:
    """`middlewares` run outside the sandbox's own (tests use one to drop a connection)."""
    app = web.Application(middlewares=[*middlewares, sandbox_errors])
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app.cleanup_ctx.append(_store_context(database_url, EmailCipher(list(email_keys))))
    add_routes(app)
    return app


def _store_context(
    database_url: str, cipher: EmailCipher
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def store(app: web.Application) -> AsyncIterator[None]:
        db = open_database(database_url)
        app[STORE] = SandboxStore(db, cipher)
        await run_on_connection(database_url, create_tables)
        yield
        await db.close()

    return store
