"""The legacy Orders API's JSON shapes (seed: orders-api.txt).

Requests are tolerant, as the legacy API was (docs/clients.md has the table, field by field):
- unknown keys are ignored (`recaptcha_challenge_field`, `recaptcha_response_field` and the
  output-only order fields a client model may send back);
- a value that is "not given" is the same as an absent key: JSON `null`, an empty or
  whitespace-only string, and, for an object field, an object whose every value is null or
  blank. SessionM's C# SDK (Newtonsoft, `DefaultValueHandling.Ignore`) sends `"email": ""`
  for "no email";
- an integer may also come as a string of ASCII digits (`"2"`), as a form-encoded Rails API
  read it; any other string, a fraction or a boolean is refused.

What the bridge emits is strict and frozen, so a field the contract does not know can never
leak out.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

JSON_WHITESPACE = " \t\n\r"
"""What "blank" means: JSON's own whitespace (space, tab, line feed, carriage return; RFC
8259), the set the OpenAPI document's patterns spell out. Other spaces (no-break,
ideographic) are characters: a field holding one is given (and refused if no valid value)."""


def _blank(value: Any) -> bool:
    """JSON null, or a string of nothing but JSON whitespace."""
    return value is None or (isinstance(value, str) and value.strip(JSON_WHITESPACE) == "")


def is_given(value: Any) -> bool:
    """False for what a client sends to mean "no value": null, a blank string, an object
    whose every value is null or blank. Everything else, `0`, `false`, `[]` and an object
    holding an object included, is a value (and may be the wrong type for its field)."""
    if isinstance(value, dict):
        return not all(_blank(item) for item in value.values())
    return not _blank(value)


class Received(BaseModel):
    """A request object: unknown keys ignored, keys whose value is not given dropped (so a
    field's default applies, exactly as if the client had left the key out)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_values_not_given(cls, data: Any) -> Any:
        """An object sent where a scalar belongs is a wrong type, not an empty value: kept."""
        if not isinstance(data, dict):
            return data
        objects = _object_fields(cls)
        return {
            key: value
            for key, value in data.items()
            if (isinstance(value, dict) and key not in objects) or is_given(value)
        }


@cache
def _object_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that take an object (a nested model), read once per model."""
    return frozenset(name for name in model.model_fields if _takes_object(model, name))


def _takes_object(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    options = get_args(annotation) or (annotation,)
    return any(isinstance(option, type) and issubclass(option, BaseModel) for option in options)


class Emitted(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_STRING = 255
MAX_ID = 2**63 - 1
"""The largest id an SQL BIGINT holds; a larger one would fail in the store, not here."""


DIGITS = re.compile(r"[0-9]+")
"""An integer sent as a string: ASCII digits between JSON whitespace (no sign, no
underscores, no other scripts' digits, which Python's `int()` would also take)."""


def _integer_value(value: Any) -> Any:
    """JSON `true` is not the integer 1, whatever Python's bool says; a string must be digits."""
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not a boolean")
    if isinstance(value, str):
        digits = value.strip(JSON_WHITESPACE)
        if not DIGITS.fullmatch(digits):
            raise ValueError("Input should be an integer or a string of digits")
        return int(digits)
    return value


WireInt = Annotated[int, BeforeValidator(_integer_value)]

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+$"
"""One `@` between two non-empty parts, no whitespace or line breaks: enough to refuse what
could never be delivered (or would break a mail header), without guessing at valid domains."""


class AddressFields(BaseModel):
    """The seed's free-form address: seven optional strings."""

    addressee: str | None = Field(default=None, max_length=MAX_STRING)
    street1: str | None = Field(default=None, max_length=MAX_STRING)
    street2: str | None = Field(default=None, max_length=MAX_STRING)
    city: str | None = Field(default=None, max_length=MAX_STRING)
    state_province: str | None = Field(default=None, max_length=MAX_STRING)
    country: str | None = Field(default=None, max_length=MAX_STRING)
    postal_code: str | None = Field(default=None, max_length=MAX_STRING)


class ShippingAddressWire(AddressFields, Received):
    """An address as received: a blank field is an absent one (a physical offer then
    answers `missing_data` for it)."""


class ShippingAddressEmitted(AddressFields, Emitted):
    """An address as emitted: exactly the stored fields."""


class ChallengeWire(Received):
    id: WireInt = Field(ge=0, le=MAX_ID)


class CreateOrderWire(Received):
    quantity: WireInt = 1
    email: str | None = Field(default=None, max_length=MAX_STRING, pattern=EMAIL_SHAPE)
    ip: str | None = Field(default=None, max_length=64)
    shipping_address: ShippingAddressWire | None = None
    challenge: ChallengeWire | None = None
    status: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=MAX_STRING)


class UpdateOrderWire(Received):
    status: str | None = Field(default=None, max_length=64)


class UserWire(Emitted):
    id: str
    available_points: int | None = None


class HistoryUserWire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    available_points: int | None = None


UserT = TypeVar("UserT")
AddressT = TypeVar("AddressT")


class OrderFields(BaseModel, Generic[UserT, AddressT]):
    """The legacy order object's fields, listed once: `OrderWire` emits them strictly,
    `HistoryOrderWire` reads them back leniently. The two fields whose shape differs between
    the two are the type parameters: the `user` object and the shipping address."""

    id: int
    offer_id: int
    user_id: str
    user: UserT
    quantity: int
    points: int
    status: str
    created_at: str
    name: str
    logo: str | None = None
    description: str | None = None
    offer_type: str
    external_id: str | None = None
    shipping_address: AddressT | None = None


class OrderWire(OrderFields[UserWire, ShippingAddressEmitted], Emitted):
    """A legacy order object as the bridge emits it (strict, frozen)."""


class HistoryOrderWire(OrderFields[HistoryUserWire | None, dict[str, Any]]):
    """A legacy order as legacy's list route answers it (tolerant of unknown keys; `user` may
    be absent, the address is read as received): what the backfill reads into history rows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: HistoryUserWire | None = None
