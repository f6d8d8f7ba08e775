"""The bridge's exceptions. Every error an integrator can see is one of these.

    BridgeError                  root: .code (ErrorCode), .message
     +-- RequestError            the request itself is wrong (.field names the culprit)
     +-- AuthError               the app or its credentials are not recognised
     +-- RuleError               a legacy business rule refused the call
     |    +-- DomainError        a refusal stated as facts (ids, balances, requested vs allowed)
     |         +-- UnknownCustomer, UnregisteredCustomer
     |         +-- UnknownOffer, OfferInactive, InsufficientPoints, OutOfStock
     |         +-- UnknownOrder, InvalidStatusTransition, DuplicateExternalId
     |         +-- ChallengeRequired, QuantityOverLimit, InvalidIp, BlockedIp
     |         +-- MissingShippingAddress, AddressFieldMissing, AddressFieldTooLong,
     |         |   UnknownCountry, UnknownSubdivision, InvalidPostalCode
     |         +-- UnknownUpstreamReward, UnknownUpstreamObject, RefusedUpstream
     +-- UpstreamError           a backend could not be reached or answered badly

A domain error is raised with its facts only. Its legacy code and message come from the one
table at the legacy edge, `mappings.errors.LEGACY` (which also gives each code its HTTP
status); one middleware (`bridge.legacy.middleware`) renders every error as the legacy
envelope. Adding a refusal is two places: its class here and its row there.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.canonical import ErrorCode, OrderStatus


class BridgeError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RequestError(BridgeError):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field


class InvalidIdempotencyKey(RequestError):
    """The `Idempotency-Key` header is not 1 to 255 visible ASCII characters."""

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.ARGUMENT_ERROR,
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            "Idempotency-Key",
        )


class KeyReused(RequestError):
    """The `Idempotency-Key` was already used for a different request (docs/idempotency.md)."""

    def __init__(self, key: str, operation: str) -> None:
        super().__init__(
            ErrorCode.VALIDATION,
            f"Idempotency-Key {key!r} was already used for a different request "
            f"({operation}); send a new key for a new request.",
            "Idempotency-Key",
        )
        self.key = key
        self.operation = operation


class AuthError(BridgeError):
    pass


class RuleError(BridgeError):
    pass


class UpstreamError(BridgeError):
    def __init__(self, message: str, upstream: str) -> None:
        super().__init__(ErrorCode.NOT_AVAILABLE, message)
        self.upstream = upstream


@dataclass(eq=False)
class DomainError(RuleError):
    """A refusal as facts. `code` and `message` are its row of the legacy edge's table,
    read when it is made, so that code which logs or keeps a refusal needs no table."""

    def __post_init__(self) -> None:
        from mappings.errors import legacy_answer  # here: the table imports this module

        super().__init__(*legacy_answer(self))


@dataclass(eq=False)
class UnknownCustomer(DomainError):
    customer: str | None = None
    """The user id or external id the call named (None when an upstream did not say)."""


@dataclass(eq=False)
class UnregisteredCustomer(DomainError):
    customer_id: str


@dataclass(eq=False)
class UnknownOffer(DomainError):
    offer_id: int | None = None
    """None: the id named in the call cannot be an offer id at all."""


@dataclass(eq=False)
class OfferInactive(DomainError):
    offer_id: int | None = None


@dataclass(eq=False)
class InsufficientPoints(DomainError):
    customer_id: str | None = None
    balance: int | None = None
    cost: int | None = None


@dataclass(eq=False)
class OutOfStock(DomainError):
    offer_id: int | None = None
    inventory: int | None = None
    quantity: int | None = None


@dataclass(eq=False)
class UnknownOrder(DomainError):
    order: int | str
    """The order as the call named it: its id, or its external id (or path text) as written."""


@dataclass(eq=False)
class InvalidStatusTransition(DomainError):
    order_id: int
    current: OrderStatus
    requested: OrderStatus


@dataclass(eq=False)
class ConcurrentStatusChange(DomainError):
    """Another call changed the order's status between its read and this update."""

    order_id: int
    requested: OrderStatus


@dataclass(eq=False)
class ImportedOrderReadOnly(DomainError):
    """An order imported from the legacy API (history) changes only on legacy."""

    order_id: int | None = None


@dataclass(eq=False)
class DuplicateExternalId(DomainError):
    external_id: str


@dataclass(eq=False)
class ExternalIdSettling(DomainError):
    """The external id is held by an order whose outcome is not known yet: it may be undone."""

    external_id: str


@dataclass(eq=False)
class KeyInProgress(DomainError):
    """Another request holds the Idempotency-Key and has not answered yet."""

    key: str


@dataclass(eq=False)
class KeyUnfinished(DomainError):
    """The Idempotency-Key's request ended without an answer (its row is gone)."""

    key: str


@dataclass(eq=False)
class ChallengeRequired(DomainError):
    customer_id: str
    offer_id: int
    challenge_id: int | None
    """The challenge given, None when none was."""


@dataclass(eq=False)
class QuantityOverLimit(DomainError):
    quantity: int
    allowed: int


@dataclass(eq=False)
class InvalidIp(DomainError):
    ip: str


@dataclass(eq=False)
class BlockedIp(DomainError):
    ip: str


@dataclass(eq=False)
class MissingShippingAddress(DomainError):
    offer_id: int


@dataclass(eq=False)
class AddressFieldMissing(DomainError):
    field: str


@dataclass(eq=False)
class AddressFieldTooLong(DomainError):
    field: str
    allowed: int


@dataclass(eq=False)
class UnknownCountry(DomainError):
    country: str


@dataclass(eq=False)
class UnknownSubdivision(DomainError):
    country: str
    state_province: str


@dataclass(eq=False)
class InvalidPostalCode(DomainError):
    country: str
    postal_code: str


@dataclass(eq=False)
class UnknownUpstreamReward(DomainError):
    """The Incentives upstream does not know the order's issued reward (user offer)."""

    user_offer_id: str | None = None


@dataclass(eq=False)
class UnknownUpstreamObject(DomainError):
    """The Incentives upstream answered 404 without a code the bridge knows."""

    status: int


@dataclass(eq=False)
class RefusedUpstream(DomainError):
    """The Incentives upstream refused the request as invalid (its `validation`, 400, 409)."""

    upstream_code: str | None
    status: int
