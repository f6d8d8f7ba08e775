"""The legacy edge's error table: each domain error -> legacy code, HTTP status, message.

`LEGACY` has one row per domain error (`bridge/errors.py`): the legacy code it answers with
and its message, a template over the error's facts. `LEGACY_HTTP_STATUS` gives every legacy
code its HTTP status: the legacy API answers method errors with a 200-level status and
`"status":"error"` in the body, and uses 401 for authentication, 404 for an unknown id and 500
for internal errors (seed, "Statuses and Errors"; DESIGN.md section 4). Everything else here
is a decision, recorded in docs/errors.md; `tests/docs/test_errors_doc.py` and
`tests/legacy/test_openapi.py` fail when the document or the OpenAPI schema disagree.

Checked at import: every domain error has a row, and every row names a code with a status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge import errors as e
from bridge.canonical import ErrorCode

LEGACY_HTTP_STATUS: Mapping[ErrorCode, int] = {
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.ACCESS_DENIED: 401,
    ErrorCode.INVALID_AUTH_TOKEN: 401,
    ErrorCode.HTTPS_ONLY: 403,
    ErrorCode.USER_NOT_FOUND: 200,
    ErrorCode.REQUIRES_REGISTERED_USER: 200,
    ErrorCode.OFFER_NOT_AVAILABLE: 200,
    ErrorCode.MISSING_DATA: 200,
    ErrorCode.CHALLENGE_NOT_FOUND: 200,
    ErrorCode.INVALID_REQUEST_ORDER_STATUS: 200,
    ErrorCode.INVALID_ORDER_STATUS: 200,
    ErrorCode.VALIDATION: 200,
    ErrorCode.ARGUMENT_ERROR: 200,
    ErrorCode.NOT_AVAILABLE: 503,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


@dataclass(frozen=True)
class Row:
    """One domain error's legacy answer: its code, and its message as fixed text or as a
    template over the error's facts."""

    code: ErrorCode
    message: str | Callable[[Any], str]

    @property
    def status(self) -> int:
        return LEGACY_HTTP_STATUS[self.code]

    def render(self, error: e.DomainError) -> str:
        return self.message if isinstance(self.message, str) else self.message(error)


NOT_AVAILABLE = "The reward is not available."

LEGACY: Mapping[type[e.DomainError], Row] = {
    e.UnknownCustomer: Row(ErrorCode.USER_NOT_FOUND, "The customer was not found."),
    e.UnregisteredCustomer: Row(
        ErrorCode.REQUIRES_REGISTERED_USER, "The customer must be registered to order."
    ),
    e.UnknownOffer: Row(ErrorCode.OFFER_NOT_AVAILABLE, NOT_AVAILABLE),
    e.OfferInactive: Row(ErrorCode.OFFER_NOT_AVAILABLE, NOT_AVAILABLE),
    e.InsufficientPoints: Row(
        ErrorCode.OFFER_NOT_AVAILABLE, "The customer does not have enough points for this order."
    ),
    e.OutOfStock: Row(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is out of stock."),
    e.UnknownOrder: Row(ErrorCode.NOT_FOUND, lambda x: f"Order {x.order!r} was not found."),
    e.InvalidStatusTransition: Row(
        ErrorCode.INVALID_ORDER_STATUS,
        lambda x: f"An order that is {x.current.value} cannot become {x.requested.value}.",
    ),
    e.ConcurrentStatusChange: Row(
        ErrorCode.INVALID_ORDER_STATUS,
        lambda x: (
            f"Order {x.order_id} changed status concurrently; it cannot become {x.requested.value}."
        ),
    ),
    e.ImportedOrderReadOnly: Row(
        ErrorCode.INVALID_ORDER_STATUS,
        "The order was imported from the legacy API and cannot change here.",
    ),
    e.ExternalIdSettling: Row(
        ErrorCode.NOT_AVAILABLE,
        lambda x: (
            f"An order with external_id {x.external_id!r} is still being settled; try again later."
        ),
    ),
    e.KeyInProgress: Row(
        ErrorCode.NOT_AVAILABLE,
        lambda x: f"A request with Idempotency-Key {x.key!r} is still in progress; retry later.",
    ),
    e.KeyUnfinished: Row(
        ErrorCode.NOT_AVAILABLE,
        lambda x: f"The request with Idempotency-Key {x.key!r} did not finish; retry later.",
    ),
    e.DuplicateExternalId: Row(
        ErrorCode.VALIDATION,
        lambda x: f"An order with external_id {x.external_id!r} already exists.",
    ),
    e.ChallengeRequired: Row(
        ErrorCode.CHALLENGE_NOT_FOUND, "A valid skills-test challenge is required for this contest."
    ),
    e.QuantityOverLimit: Row(
        ErrorCode.VALIDATION, lambda x: f"order.quantity must be at most {x.allowed}."
    ),
    e.InvalidIp: Row(ErrorCode.VALIDATION, "order.ip is not a valid IP address."),
    e.BlockedIp: Row(ErrorCode.VALIDATION, "Orders from this IP address are not accepted."),
    e.MissingShippingAddress: Row(
        ErrorCode.MISSING_DATA, "A shipping address is required for a physical reward."
    ),
    e.AddressFieldMissing: Row(
        ErrorCode.MISSING_DATA, lambda x: f"shipping_address.{x.field} is required."
    ),
    e.AddressFieldTooLong: Row(
        ErrorCode.VALIDATION,
        lambda x: f"shipping_address.{x.field} is longer than {x.allowed} characters.",
    ),
    e.UnknownCountry: Row(
        ErrorCode.VALIDATION,
        "shipping_address.country must be an ISO 3166-1 alpha-2 country code.",
    ),
    e.UnknownSubdivision: Row(
        ErrorCode.VALIDATION,
        lambda x: (
            f"shipping_address.state_province must be an ISO 3166-2 subdivision of {x.country}."
        ),
    ),
    e.InvalidPostalCode: Row(
        ErrorCode.VALIDATION,
        lambda x: f"shipping_address.postal_code is not a valid {x.country} postal code.",
    ),
    e.UnknownUpstreamReward: Row(ErrorCode.NOT_FOUND, "The order's reward was not found upstream."),
    e.UnknownUpstreamObject: Row(
        ErrorCode.NOT_FOUND, "The rewards service does not know this object."
    ),
    e.RefusedUpstream: Row(ErrorCode.VALIDATION, "The rewards service refused the request."),
}
"""Domain error -> its legacy answer."""


def legacy_answer(error: e.DomainError) -> tuple[ErrorCode, str]:
    """The legacy code and message of a domain error (its HTTP status: `LEGACY_HTTP_STATUS`)."""
    row = LEGACY[type(error)]
    return row.code, row.render(error)


def _domain_errors(root: type[e.DomainError]) -> set[type[e.DomainError]]:
    found = set(root.__subclasses__())
    for child in list(found):
        found |= _domain_errors(child)
    return found


def _check() -> None:
    missing = _domain_errors(e.DomainError) - LEGACY.keys()
    if missing:
        raise TypeError(
            f"domain errors without a legacy row: {sorted(c.__name__ for c in missing)}"
        )
    if set(LEGACY_HTTP_STATUS) != set(ErrorCode):
        raise TypeError("every ErrorCode needs an HTTP status in LEGACY_HTTP_STATUS")


_check()
