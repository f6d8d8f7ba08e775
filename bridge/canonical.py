"""The canonical model: the one shape every edge translates to and from.

The legacy surface, the Incentives side and the local engine all speak these frozen models;
mapping modules convert wire formats to and from them. Nothing here does I/O.

The values a request builds from values already checked (how a route names a customer or an
order, the parsed create command, the purchase the service hands its backend) are frozen
slotted dataclasses: they need none of pydantic's features (no wire reads or writes them), and
a dataclass costs a third to half of a model's validation to build.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Canonical(BaseModel):
    """Base for canonical models: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ErrorCode(enum.StrEnum):
    """Every error the bridge can answer with; values are the legacy wire codes."""

    INVALID_API_KEY = "invalid_api_key"
    ACCESS_DENIED = "access_denied"
    INVALID_AUTH_TOKEN = "invalid_auth_token"  # noqa: S105 - an error code, not a secret
    HTTPS_ONLY = "https_only"
    USER_NOT_FOUND = "user_not_found"
    REQUIRES_REGISTERED_USER = "requires_registered_user"
    OFFER_NOT_AVAILABLE = "offer_not_available"
    MISSING_DATA = "missing_data"
    CHALLENGE_NOT_FOUND = "challenge_not_found"
    INVALID_REQUEST_ORDER_STATUS = "invalid_request_order_status"
    INVALID_ORDER_STATUS = "invalid_order_status"
    VALIDATION = "validation"
    NOT_AVAILABLE = "not_available"
    NOT_FOUND = "not_found"
    ARGUMENT_ERROR = "argument_error"
    INTERNAL_SERVER_ERROR = "internal_server_error"


class OrderStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    REDEMPTION_ERROR = "redemption_error"


class Target(enum.StrEnum):
    """Where a call is served."""

    LEGACY = "legacy"
    INCENTIVES = "incentives"
    LOCAL = "local"


class ShippingAddress(Canonical):
    addressee: str | None = None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state_province: str | None = None
    country: str | None = None
    postal_code: str | None = None


class Customer(Canonical):
    app: str
    id: str
    external_id: str | None
    registered: bool
    email: str | None
    country: str | None


class Offer(Canonical):
    app: str
    id: int
    name: str
    logo: str | None
    description: str | None
    offer_type: str
    points: int
    inventory: int | None
    physical: bool
    contest: bool
    review: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """How a legacy route names a customer: by SessionM id or by external id."""

    user_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRef:
    """How a legacy route names an order: by integer id or by integrator external id."""

    order_id: int | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class VelocityLimit:
    """At most `max_orders` orders from one IP of one app since `since`; beyond it, an order
    that would be approved is held for review. Decided by the store inside the order's own
    write, so concurrent orders (any replica) cannot all pass the same count."""

    max_orders: int
    since: datetime


@dataclass(frozen=True, slots=True)
class Purchase:
    """A validated request to place an order, ready for a backend.

    `status` is the review's decision; `velocity`, when set, may still turn an approved
    order into one held for review (the store decides it with the write).
    """

    app: str
    customer: Customer
    offer: Offer
    quantity: int
    points: int
    status: OrderStatus
    email: str | None
    ip: str | None
    shipping_address: ShippingAddress | None
    challenge_id: int | None
    external_id: str | None
    created_at: datetime
    velocity: VelocityLimit | None = None


class Order(Canonical):
    id: int
    app: str
    customer_id: str
    offer_id: int
    quantity: int
    points: int
    status: OrderStatus
    created_at: datetime
    name: str
    logo: str | None
    description: str | None
    offer_type: str
    external_id: str | None
    shipping_address: ShippingAddress | None
    target: Target = Target.LOCAL
    available_points: int | None = None


class OrderFilter(Canonical):
    """Which of a customer's orders to list: newest first, one page."""

    limit: int
    page: int
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A legacy create-order call, parsed but not yet checked against any rule."""

    customer: CustomerRef
    offer_id: int
    quantity: int
    email: str | None
    ip: str | None
    shipping_address: ShippingAddress | None
    challenge_id: int | None
    external_id: str | None
    hold_for_review: bool
