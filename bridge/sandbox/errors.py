"""The sandbox's error answers: the Connect error DTO, and the legacy Core envelope.

`ERROR_STATUS` lists every code the sandbox emits with its HTTP status; check-mappings checks
that `mappings/incentives/errors.py` maps each of them.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

ERROR_STATUS: dict[str, int] = {
    "unauthorized": 401,
    "retailer_not_found": 403,
    "validation": 400,
    "user_not_found": 404,
    "offer_not_found": 404,
    "user_offer_not_found": 404,
    "offer_not_active": 422,
    "insufficient_points": 422,
    "offer_out_of_stock": 422,
}


class SandboxError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def ok(payload: Any) -> web.Response:
    return _json({"status": "ok", "payload": payload}, 200)


def connect_error(error: SandboxError) -> web.Response:
    body = {
        "status": "error",
        "errors": {"code": error.code, "type": "business", "message": error.message},
        "payload": None,
    }
    return _json(body, ERROR_STATUS[error.code])


def core_error(error: SandboxError) -> web.Response:
    body = {"status": "error", "errors": {"code": error.code, "message": error.message}}
    return _json(body, ERROR_STATUS[error.code])


def _json(body: Any, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
