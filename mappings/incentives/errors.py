"""Incentives errors -> domain errors: one table by error code, one by HTTP status.

An Incentives error answer is `{"status":"error","errors":{"code","type","message"}}`. The code
is looked up in `REFUSALS_BY_CODE`; a code not in the table falls back to
`REFUSALS_BY_STATUS`; a status not there either is a failure (`not_available`), as are the
codes and statuses that mean the bridge itself is misconfigured or throttled. A refusal
becomes the same domain error the local engine raises for the same refusal
(`bridge/errors.py`), so an integrator sees the same legacy answer on either target: the
legacy edge's table (`mappings/errors.py`) renders both.

Assumption (not public): the Connect error code list and its HTTP statuses are not published.
The codes below are the ones our sandbox emits, named after the refusals the legacy API knows;
correct them here against a real tenant (`orders-bridge check-mappings` lists the matrix).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bridge import errors as e
from bridge.canonical import ErrorCode

UPSTREAM_DOWN = "The rewards service is not available; try again later."

Refusal = Callable[[str | None, int], e.DomainError]
"""Makes the domain error of an Incentives error answer, from its code and HTTP status."""

REFUSALS_BY_CODE: Mapping[str, Refusal] = {
    "insufficient_points": lambda _code, _status: e.InsufficientPoints(),
    "offer_out_of_stock": lambda _code, _status: e.OutOfStock(),
    "offer_not_found": lambda _code, _status: e.UnknownOffer(),
    "offer_not_active": lambda _code, _status: e.OfferInactive(),
    "user_not_found": lambda _code, _status: e.UnknownCustomer(),
    "user_offer_not_found": lambda _code, _status: e.UnknownUpstreamReward(),
    "validation": e.RefusedUpstream,
}
"""Incentives error code -> the refusal it is (the upstream says why, not the facts)."""

FAILURE_CODES = frozenset({"unauthorized", "retailer_not_found"})
"""Codes that mean the bridge's own Connect set-up is wrong: a failure, not a refusal."""

REFUSALS_BY_STATUS: Mapping[int, Refusal] = {
    400: e.RefusedUpstream,
    404: lambda _code, status: e.UnknownUpstreamObject(status),
    409: e.RefusedUpstream,
}
"""HTTP status of an answer with no (known) error code -> the refusal it is."""

FAILURE_STATUSES = frozenset({401, 403, 429})
"""Statuses without a known code that are a failure (as is any status in neither table)."""


def refusal(code: str | None, http_status: int) -> e.DomainError | None:
    """The domain error of an Incentives error answer; None when the answer is a failure
    (`not_available`: retried and counted by the circuit breaker, never a refusal)."""
    if code is not None and code in FAILURE_CODES:
        return None
    if code is not None and code in REFUSALS_BY_CODE:
        return REFUSALS_BY_CODE[code](code, http_status)
    make = REFUSALS_BY_STATUS.get(http_status)
    return make(code, http_status) if make is not None else None


def _legacy(made: e.DomainError | None) -> tuple[ErrorCode, str]:
    return (ErrorCode.NOT_AVAILABLE, UPSTREAM_DOWN) if made is None else (made.code, made.message)


BY_CODE: dict[str, tuple[ErrorCode, str]] = {
    code: _legacy(refusal(code, 422)) for code in (*REFUSALS_BY_CODE, *FAILURE_CODES)
}
"""Incentives error code -> the legacy code and message it ends as (check-mappings' matrix)."""

BY_HTTP_STATUS: dict[int, tuple[ErrorCode, str]] = {
    status: _legacy(refusal(None, status)) for status in (*REFUSALS_BY_STATUS, *FAILURE_STATUSES)
}
"""HTTP status of an answer with no (known) code -> the legacy code and message it ends as."""
