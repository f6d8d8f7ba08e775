"""The public clients' models of the legacy Orders API, written as strict checkers.

Each checker reads a response body the way that client's model does (docs/clients.md) and
fails where that client would fail, or would silently get a wrong value. They are written from
the clients' declarations, not from the bridge's own models, so they can disagree with them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

INT32_MAX = 2**31 - 1
LEGACY_CREATED_AT = "%Y-%m-%d %H:%M:%S"


class ClientParseError(AssertionError):
    """The client's model could not read the body, or would read a wrong value."""


def _int32(name: str, value: Any) -> int:
    """Newtonsoft into a C# `int`: a JSON integer within 32 bits (null fails the whole parse)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientParseError(f"{name}: {value!r} is not a JSON integer (C# Int32)")
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise ClientParseError(f"{name}: {value} overflows a C# Int32")
    return value


def _string(name: str, value: Any) -> str | None:
    """A C# `string` (or Objective-C `NSString *`): a JSON string, or null when absent."""
    if value is not None and not isinstance(value, str):
        raise ClientParseError(f"{name}: {value!r} is not a JSON string")
    return value


def _legacy_datetime(name: str, value: Any) -> datetime | None:
    """A C# `DateTime?` from the seed's `YYYY-MM-DD HH:MM:SS` (UTC)."""
    text = _string(name, value)
    if text is None:
        return None
    try:
        return datetime.strptime(text, LEGACY_CREATED_AT)
    except ValueError as exc:
        raise ClientParseError(f"{name}: {text!r} is not YYYY-MM-DD HH:MM:SS") from exc


def _object(name: str, value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ClientParseError(f"{name}: {value!r} is not a JSON object")
    return value


@dataclass(frozen=True)
class CSharpOrder:
    """`SessionM.MMC.models.Order`: the properties the SDK declares; other keys are ignored."""

    id: int
    quantity: int
    offer_id: int
    points: int
    user_id: str | None
    status: str | None
    created_at: datetime | None
    name: str | None
    logo: str | None
    description: str | None

    @classmethod
    def read(cls, data: dict[str, Any]) -> CSharpOrder:
        return cls(
            id=_int32("order.id", data.get("id", 0)),
            quantity=_int32("order.quantity", data.get("quantity", 0)),
            offer_id=_int32("order.offer_id", data.get("offer_id", 0)),
            points=_int32("order.points", data.get("points", 0)),
            user_id=_string("order.user_id", data.get("user_id")),
            status=_string("order.status", data.get("status")),
            created_at=_legacy_datetime("order.created_at", data.get("created_at")),
            name=_string("order.name", data.get("name")),
            logo=_string("order.logo", data.get("logo")),
            description=_string("order.description", data.get("description")),
        )


@dataclass(frozen=True)
class CSharpResponse:
    """`SessionM.MMC.JsonService.SMResponse`, the order-related part: status, errors, order."""

    status: str | None
    errors: dict[str, Any] | None
    order: CSharpOrder | None

    @classmethod
    def read(cls, raw: bytes) -> CSharpResponse:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ClientParseError(f"the body is not a JSON object: {data!r}")
        order = _object("order", data.get("order"))
        return cls(
            status=_string("status", data.get("status")),
            errors=_object("errors", data.get("errors")),
            order=CSharpOrder.read(order) if order is not None else None,
        )


IOS_STATUSES = frozenset({"approved", "rejected", "pending_approval", "redemption_error"})
"""The statuses SMOrderStatus names (approved, rejected, pending, redemption error), on the
wire as the seed and SessionM's docs spell them."""


def _integer(name: str, value: Any) -> int:
    """An `NSInteger`: a JSON integer (a string would read as 0 or fail, depending on code)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientParseError(f"{name}: {value!r} is not a JSON integer (NSInteger)")
    return value


def _id_string(name: str, value: Any) -> str:
    """`orderID` / `offerID` are non-null strings, made from the JSON id."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ClientParseError(f"{name}: {value!r} cannot become a non-null id string")
    return str(value)


@dataclass(frozen=True)
class IosOrderUser:
    user_id: str
    available_points: int | None

    @classmethod
    def read(cls, data: dict[str, Any]) -> IosOrderUser:
        user_id = _string("order.user.id", data.get("id"))
        if user_id is None:
            raise ClientParseError("order.user.id is required (nonnull userID)")
        points = data.get("available_points")
        return cls(
            user_id=user_id,
            available_points=None if points is None else _integer("user.available_points", points),
        )


@dataclass(frozen=True)
class IosOrder:
    """SessionM iOS SDK 2.1.5 `SMOrder` (SMOrder.h)."""

    order_id: str
    offer_id: str
    user: IosOrderUser | None
    quantity: int
    points: int
    created_time: str | None
    name: str | None
    logo_url: str | None
    description_text: str | None
    shipping_address: dict[str, Any] | None
    data: dict[str, Any] | None
    status: str

    @classmethod
    def read(cls, data: dict[str, Any]) -> IosOrder:
        user = _object("order.user", data.get("user"))
        status = _string("order.status", data.get("status"))
        if status not in IOS_STATUSES:
            raise ClientParseError(f"order.status {status!r} reads as SMOrderStatusUnknown")
        return cls(
            order_id=_id_string("order.id", data.get("id")),
            offer_id=_id_string("order.offer_id", data.get("offer_id")),
            user=IosOrderUser.read(user) if user is not None else None,
            quantity=_integer("order.quantity", data.get("quantity")),
            points=_integer("order.points", data.get("points")),
            created_time=_string("order.created_at", data.get("created_at")),
            name=_string("order.name", data.get("name")),
            logo_url=_string("order.logo", data.get("logo")),
            description_text=_string("order.description", data.get("description")),
            shipping_address=_object("order.shipping_address", data.get("shipping_address")),
            data=_object("order.data", data.get("data")),
            status=status,
        )
