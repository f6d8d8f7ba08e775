"""One middleware renders every error as the legacy envelope; no stack trace leaves."""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge.canonical import ErrorCode
from bridge.errors import BridgeError
from bridge.legacy.responses import error_response
from bridge.observability.context import LEGACY_CODE

HTTP_ERRORS: dict[int, tuple[ErrorCode, str]] = {
    404: (ErrorCode.NOT_FOUND, "No such route."),
    405: (ErrorCode.NOT_FOUND, "This route does not accept that method."),
    413: (ErrorCode.ARGUMENT_ERROR, "The request body is too large."),
}
"""aiohttp's own HTTP errors -> legacy code and message (status kept from aiohttp)."""


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BridgeError as exc:
        request[LEGACY_CODE] = exc.code.value
        return error_response(exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = HTTP_ERRORS.get(exc.status, (ErrorCode.ARGUMENT_ERROR, exc.reason))
        request[LEGACY_CODE] = code.value
        response = error_response(code, message)
        response.set_status(exc.status)
        if "Allow" in exc.headers:  # a 405 must say which methods the route takes (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        structlog.get_logger().exception("request_failed")
        request[LEGACY_CODE] = ErrorCode.INTERNAL_SERVER_ERROR.value
        return error_response(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.")
