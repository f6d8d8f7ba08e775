"""Incentives errors -> canonical (legacy) errors: one table by error code, one by HTTP status.

An Incentives error answer is `{"status":"error","errors":{"code","type","message"}}`. The code
is looked up in `BY_CODE`; a code not in the table falls back to `BY_HTTP_STATUS`; a status not
there either is `not_available`. The message is the legacy one the local engine gives for the
same refusal, so an integrator sees the same answer on either target.

Assumption (not public): the Connect error code list and its HTTP statuses are not published.
The codes below are the ones our sandbox emits, named after the refusals the legacy API knows;
correct them here against a real tenant (`orders-bridge check-mappings` lists the matrix).
"""

from __future__ import annotations

from bridge.canonical import ErrorCode

NOT_ENOUGH_POINTS = "The customer does not have enough points for this order."
OUT_OF_STOCK = "The reward is out of stock."
NOT_AVAILABLE = "The reward is not available."
UPSTREAM_DOWN = "The rewards service is not available; try again later."

BY_CODE: dict[str, tuple[ErrorCode, str]] = {
    "insufficient_points": (ErrorCode.OFFER_NOT_AVAILABLE, NOT_ENOUGH_POINTS),
    "offer_out_of_stock": (ErrorCode.OFFER_NOT_AVAILABLE, OUT_OF_STOCK),
    "offer_not_found": (ErrorCode.OFFER_NOT_AVAILABLE, NOT_AVAILABLE),
    "offer_not_active": (ErrorCode.OFFER_NOT_AVAILABLE, NOT_AVAILABLE),
    "user_not_found": (ErrorCode.USER_NOT_FOUND, "The customer was not found."),
    "user_offer_not_found": (ErrorCode.NOT_FOUND, "The order's reward was not found upstream."),
    "validation": (ErrorCode.VALIDATION, "The rewards service refused the request."),
    "unauthorized": (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN),
    "retailer_not_found": (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN),
}
"""Incentives error code -> legacy code and message."""

BY_HTTP_STATUS: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.VALIDATION, "The rewards service refused the request."),
    401: (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN),
    403: (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN),
    404: (ErrorCode.NOT_FOUND, "The rewards service does not know this object."),
    409: (ErrorCode.VALIDATION, "The rewards service refused the request."),
    429: (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN),
}
"""HTTP status of an answer with no (known) error code -> legacy code and message."""

BUSINESS_CODES = frozenset(
    code
    for code, (legacy, _message) in BY_CODE.items()
    if legacy not in {ErrorCode.NOT_AVAILABLE, ErrorCode.INTERNAL_SERVER_ERROR}
)
"""Codes that are a refusal, not a failure: they never count against the circuit breaker."""


def legacy_error(code: str | None, http_status: int) -> tuple[ErrorCode, str]:
    """The legacy code and message for an Incentives error answer."""
    if code is not None and code in BY_CODE:
        return BY_CODE[code]
    return BY_HTTP_STATUS.get(http_status, (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN))
