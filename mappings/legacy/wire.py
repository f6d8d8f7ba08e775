"""The legacy Orders API's JSON shapes (seed: orders-api.txt).

Requests are tolerant (unknown keys are ignored, as the legacy API did); what the bridge
emits is strict and frozen, so a field the contract does not know can never leak out.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Received(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Emitted(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_STRING = 255
MAX_ID = 2**63 - 1
"""The largest id an SQL BIGINT holds; a larger one would fail in the store, not here."""


def _refuse_booleans(value: Any) -> Any:
    """JSON `true` is not the integer 1, whatever Python's bool says."""
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not a boolean")
    return value


WireInt = Annotated[int, BeforeValidator(_refuse_booleans)]

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+$"
"""One `@` between two non-empty parts, no whitespace or line breaks: enough to refuse what
could never be delivered (or would break a mail header), without guessing at valid domains."""


class ShippingAddressWire(BaseModel):
    """Free-form address: received tolerant, emitted with exactly these keys."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    addressee: str | None = Field(default=None, max_length=MAX_STRING)
    street1: str | None = Field(default=None, max_length=MAX_STRING)
    street2: str | None = Field(default=None, max_length=MAX_STRING)
    city: str | None = Field(default=None, max_length=MAX_STRING)
    state_province: str | None = Field(default=None, max_length=MAX_STRING)
    country: str | None = Field(default=None, max_length=MAX_STRING)
    postal_code: str | None = Field(default=None, max_length=MAX_STRING)


class ChallengeWire(Received):
    id: WireInt = Field(ge=0, le=MAX_ID)


class CreateOrderWire(Received):
    quantity: WireInt = 1
    email: str | None = Field(default=None, max_length=MAX_STRING, pattern=EMAIL_SHAPE)
    ip: str | None = Field(default=None, max_length=64)
    shipping_address: ShippingAddressWire | None = None
    challenge: ChallengeWire | None = None
    status: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, min_length=1, max_length=MAX_STRING)


class UpdateOrderWire(Received):
    status: str | None = Field(default=None, max_length=64)


class UserWire(Emitted):
    id: str
    available_points: int | None = None


class OrderWire(Emitted):
    id: int
    offer_id: int
    user_id: str
    user: UserWire
    quantity: int
    points: int
    status: str
    created_at: str
    name: str
    logo: str | None = None
    description: str | None = None
    offer_type: str
    external_id: str | None = None
    shipping_address: ShippingAddressWire | None = None
