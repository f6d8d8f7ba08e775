"""JSON responses in the legacy envelope, rendered with orjson.

`Rendered` is an answer of the four order operations before it becomes a response: status,
body bytes and, for an error envelope, its legacy code (carried, so that metrics, logs and
the idempotency store never parse the body to find it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import ErrorCode
from mappings.errors import LEGACY_HTTP_STATUS
from mappings.legacy.order import error_envelope

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A legacy answer: HTTP status, JSON body, and the error code when it is an error."""

    status: int
    body: bytes
    code: str | None = None
    replayed: bool = False
    """An `Idempotency-Key`'s stored answer given again (marked with `REPLAYED_HEADER`)."""

    def response(self) -> web.Response:
        response = web.Response(body=self.body, status=self.status, content_type="application/json")
        if self.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return response


def ok(payload: dict[str, Any]) -> Rendered:
    return Rendered(200, orjson.dumps(payload))


def refusal(code: ErrorCode, message: str) -> Rendered:
    """The legacy error envelope of `code`, with its HTTP status."""
    return Rendered(
        LEGACY_HTTP_STATUS[code], orjson.dumps(error_envelope(code, message)), code.value
    )


def json_response(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def error_response(code: ErrorCode, message: str) -> web.Response:
    return refusal(code, message).response()
