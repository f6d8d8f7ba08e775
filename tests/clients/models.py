"""The public clients' models of the legacy Orders API, written as strict checkers.

Each checker reads a response body the way that client's model does (docs/clients.md) and
fails where that client would fail, or would silently get a wrong value. They are written from
the clients' declarations, as tables of (JSON key, how the client reads it), not from the
bridge's own models, so they can disagree with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

INT32_MAX = 2**31 - 1
LEGACY_CREATED_AT = "%Y-%m-%d %H:%M:%S"
MISSING: Any = object()
"""A key the body does not have (a client model keeps its default), unlike JSON null."""

Reader = Callable[[str, Any], Any]


class ClientParseError(AssertionError):
    """The client's model could not read the body, or would read a wrong value."""


def _int32(name: str, value: Any) -> int:
    """Newtonsoft into a C# `int`: a JSON integer within 32 bits; absent keeps 0, null fails."""
    if value is MISSING:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientParseError(f"{name}: {value!r} is not a JSON integer (C# Int32)")
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        raise ClientParseError(f"{name}: {value} overflows a C# Int32")
    return value


def _integer(name: str, value: Any) -> int:
    """An Objective-C `NSInteger`: a JSON integer, present."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientParseError(f"{name}: {value!r} is not a JSON integer (NSInteger)")
    return value


def _optional_integer(name: str, value: Any) -> int | None:
    """An `NSInteger` the server may leave out (`availablePoints` when points are hidden)."""
    return None if value is MISSING else _integer(name, value)


def _string(name: str, value: Any) -> str | None:
    """A C# `string` or an `NSString *`: a JSON string, or nil when absent or null."""
    if value is MISSING or value is None:
        return None
    if not isinstance(value, str):
        raise ClientParseError(f"{name}: {value!r} is not a JSON string")
    return value


def _required_string(name: str, value: Any) -> str:
    """A `nonnull NSString *`: a JSON string that is there."""
    text = _string(name, value)
    if text is None:
        raise ClientParseError(f"{name} is required")
    return text


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
    if value is MISSING or value is None:
        return None
    if not isinstance(value, dict):
        raise ClientParseError(f"{name}: {value!r} is not a JSON object")
    return value


def _id_string(name: str, value: Any) -> str:
    """`orderID` / `offerID`: non-null strings made from the JSON id."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ClientParseError(f"{name}: {value!r} cannot become a non-null id string")
    return str(value)


IOS_STATUSES = frozenset({"approved", "rejected", "pending_approval", "redemption_error"})
"""The statuses SMOrderStatus names (approved, rejected, pending, redemption error), on the
wire as the seed and SessionM's docs spell them; anything else reads as "unknown"."""


def _ios_status(name: str, value: Any) -> str:
    status = _string(name, value)
    if status not in IOS_STATUSES:
        raise ClientParseError(f"{name}: {status!r} reads as SMOrderStatusUnknown")
    return status


def read_fields(
    prefix: str, data: Mapping[str, Any], table: Mapping[str, tuple[str, Reader]]
) -> dict[str, Any]:
    """Each attribute of a client model, read from its JSON key the way that client reads it."""
    return {
        attribute: reader(f"{prefix}.{key}", data.get(key, MISSING))
        for attribute, (key, reader) in table.items()
    }


CSHARP_ORDER: dict[str, tuple[str, Reader]] = {
    "id": ("id", _int32),
    "quantity": ("quantity", _int32),
    "offer_id": ("offer_id", _int32),
    "points": ("points", _int32),
    "user_id": ("user_id", _string),
    "status": ("status", _string),
    "created_at": ("created_at", _legacy_datetime),
    "name": ("name", _string),
    "logo": ("logo", _string),
    "description": ("description", _string),
}
"""`SessionM.MMC.models.Order` (C#, Newtonsoft): the response properties it declares; any
other key is ignored."""


@dataclass(frozen=True)
class CSharpOrder:
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
    def read(cls, data: Mapping[str, Any]) -> CSharpOrder:
        return cls(**read_fields("order", data, CSHARP_ORDER))


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
        order = _object("order", data.get("order", MISSING))
        return cls(
            status=_string("status", data.get("status", MISSING)),
            errors=_object("errors", data.get("errors", MISSING)),
            order=CSharpOrder.read(order) if order is not None else None,
        )


IOS_ORDER_USER: dict[str, tuple[str, Reader]] = {
    "user_id": ("id", _required_string),
    "available_points": ("available_points", _optional_integer),
}
"""`SMOrderUser`: a non-null `userID`, an `NSInteger availablePoints` when shown."""

IOS_ORDER: dict[str, tuple[str, Reader]] = {
    "order_id": ("id", _id_string),
    "offer_id": ("offer_id", _id_string),
    "quantity": ("quantity", _integer),
    "points": ("points", _integer),
    "created_time": ("created_at", _string),
    "name": ("name", _string),
    "logo_url": ("logo", _string),
    "description_text": ("description", _string),
    "shipping_address": ("shipping_address", _object),
    "data": ("data", _object),
    "status": ("status", _ios_status),
}
"""SessionM iOS SDK 2.1.5 `SMOrder` (SMOrder.h); its `user` is read with IOS_ORDER_USER."""


@dataclass(frozen=True)
class IosOrderUser:
    user_id: str
    available_points: int | None


@dataclass(frozen=True)
class IosOrder:
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
    def read(cls, data: Mapping[str, Any]) -> IosOrder:
        user = _object("order.user", data.get("user", MISSING))
        return cls(
            user=IosOrderUser(**read_fields("order.user", user, IOS_ORDER_USER)) if user else None,
            **read_fields("order", data, IOS_ORDER),
        )
