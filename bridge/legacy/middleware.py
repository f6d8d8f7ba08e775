"""One middleware renders every error as the legacy envelope; no stack trace leaves.

Before the handler runs it refuses what the bridge cannot use (docs/errors.md, "Unusable
input"): a header it reads or forwards that is not visible ASCII (or, for a header it only
forwards, not decodable), a NUL in a path segment or query value, a body encoding it cannot
decode, a body that cannot be read in `BODY_TIMEOUT` seconds. After, it turns bridge errors,
aiohttp's HTTP errors and a store that cannot be reached into legacy answers; anything else
is `internal_server_error`.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import AbstractAsyncContextManager, nullcontext

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestPayloadError

from bridge.backends.passthrough import FORWARDED_HEADERS
from bridge.canonical import ErrorCode
from bridge.errors import BridgeError, RequestError
from bridge.legacy.responses import error_response
from bridge.observability.context import call_facts
from bridge.store.failures import refusal_of, unreachable

HTTP_ERRORS: dict[int, tuple[ErrorCode, str]] = {
    404: (ErrorCode.NOT_FOUND, "No such route."),
    405: (ErrorCode.NOT_FOUND, "This route does not accept that method."),
    408: (ErrorCode.ARGUMENT_ERROR, "The request body was not received in time."),
    413: (ErrorCode.ARGUMENT_ERROR, "The request body is too large."),
    415: (ErrorCode.ARGUMENT_ERROR, "The request body's Content-Encoding is not supported."),
    417: (ErrorCode.ARGUMENT_ERROR, "The Expect header is not supported (only 100-continue)."),
}
"""aiohttp's own HTTP errors -> legacy code and message (status kept from aiohttp)."""

BODY_TIMEOUT = web.AppKey("body_timeout_seconds", float)
"""Seconds a request body may take to arrive (settings `body_timeout_seconds`)."""
DEFAULT_BODY_TIMEOUT = 30.0
READ_HEADERS = ("authorization", "idempotency-key", "content-type", "content-encoding")
"""Headers the bridge itself reads: visible ASCII only (RFC 9110 field values)."""
VISIBLE_ASCII = re.compile(r"[\x20-\x7e\t]*")
BODY_REFUSALS = frozenset({400, 408, 413, 415})
"""Statuses answered before the whole body was read: the connection is closed after them."""
DECODED_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})
"""Content-Encoding values aiohttp decodes before the body is read (or none at all)."""

log = structlog.get_logger()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        _refuse_unusable_headers(request)
        _refuse_nul(request)
        await _read_body(request)
        return await handler(request)
    except BridgeError as exc:
        return _answer(request, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(request, exc)
    except Exception as exc:
        return _unexpected(request, exc)


def _refuse_unusable_headers(request: web.Request) -> None:
    """A header the bridge reads must be visible ASCII; one it forwards must be decodable."""
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in READ_HEADERS and not _visible_ascii(value):
            _refuse_header(name)
        if (lower in FORWARDED_HEADERS or lower == "x-forwarded-for") and not _forwardable(value):
            _refuse_header(name)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in DECODED_ENCODINGS:
        raise web.HTTPUnsupportedMediaType()


def _refuse_nul(request: web.Request) -> None:
    """No store holds a NUL (PostgreSQL text cannot): refused in any path segment or query
    value, before a route, the cutover's order lookup or a driver sees it."""
    for where, values in (("path", request.match_info.values()), ("query", request.query.values())):
        if any("\x00" in value for value in values):
            raise RequestError(
                ErrorCode.ARGUMENT_ERROR, f"A {where} value contains a NUL character."
            )


def _visible_ascii(value: str) -> bool:
    """Printable ASCII is visible ASCII; only a value that is not (a tab) asks the pattern."""
    return (value.isascii() and value.isprintable()) or VISIBLE_ASCII.fullmatch(value) is not None


def _forwardable(value: str) -> bool:
    """No control characters, and no bytes that were not UTF-8 (aiohttp keeps those as
    lone surrogates, which no client can send on; ASCII holds none)."""
    if not value.isprintable():
        return False
    return value.isascii() or not any("\ud800" <= char <= "\udfff" for char in value)


def _refuse_header(name: str) -> None:
    if name.lower() == "authorization":
        raise RequestError(ErrorCode.ACCESS_DENIED, "The API credentials are not valid.")
    raise RequestError(ErrorCode.ARGUMENT_ERROR, f"The {name} header is not usable.", name)


async def _read_body(request: web.Request) -> None:
    """Read (and cache) the body within the deadline; one that cannot be decoded is refused.

    A body that has all arrived (most do, with the headers) is read without arming the
    deadline: reading it cannot wait."""
    if not request.body_exists:
        return
    seconds = request.app.get(BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT)
    deadline: AbstractAsyncContextManager[object] = (
        nullcontext() if request.content.is_eof() else asyncio.timeout(seconds)
    )
    try:
        async with deadline:
            await request.read()
    except TimeoutError as exc:
        raise web.HTTPRequestTimeout() from exc
    except RequestPayloadError as exc:
        raise web.HTTPBadRequest(reason="The request body could not be decoded.") from exc


def _answer(request: web.Request, code: ErrorCode, message: str) -> web.Response:
    call_facts().legacy_code = code.value
    return error_response(code, message)


def _http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    code, message = HTTP_ERRORS.get(exc.status, (ErrorCode.ARGUMENT_ERROR, exc.reason))
    response = _answer(request, code, message)
    response.set_status(exc.status)
    if exc.status in BODY_REFUSALS:
        response.force_close()  # the rest of the body may still be on the wire
    if "Allow" in exc.headers:  # a 405 must say which methods the route takes (RFC 9110)
        response.headers["Allow"] = exc.headers["Allow"]
    return response


def _unexpected(request: web.Request, exc: Exception) -> web.Response:
    """A store that cannot be reached is `not_available`; a value the store refuses is the
    client's `argument_error`; anything else is logged and `internal_server_error`.
    Only the exception's type is logged for the first two: their text can carry values."""
    if unreachable(exc):
        log.warning("store_unreachable", error=type(exc).__name__)
        return _answer(request, ErrorCode.NOT_AVAILABLE, "The service is not available.")
    if refusal_of(exc):
        log.warning("store_refused_value", error=type(exc).__name__)
        return _answer(request, ErrorCode.ARGUMENT_ERROR, "A value in the request is not usable.")
    log.exception("request_failed")
    return _answer(request, ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.")
