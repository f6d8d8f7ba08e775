"""The sandbox's error answers: the Connect error DTO, and the legacy Core envelope.

`ERROR_STATUS` lists every code the sandbox emits with its HTTP status; check-mappings checks
that `mappings/incentives/errors.py` maps each of them. The sandbox's business refusals are
the bridge's domain errors (raised by its store, or by its own checks before it); `CONNECT`
is the sandbox's edge table, from each to its Connect code and message.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bridge import errors as e

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


CONNECT: dict[type[e.DomainError], tuple[str, str]] = {
    e.UnknownCustomer: ("user_not_found", "No such user."),
    e.OfferInactive: ("offer_not_active", "The offer is not active."),
    e.InsufficientPoints: ("insufficient_points", "Not enough points."),
    e.OutOfStock: ("offer_out_of_stock", "The offer is out of stock."),
}
"""Domain error -> the Connect code and message the sandbox answers it with."""


class SandboxError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def connect_refusal(refusal: e.DomainError) -> SandboxError:
    """The sandbox's answer to a domain error (one the sandbox does not emit is a bug)."""
    return SandboxError(*CONNECT[type(refusal)])


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
