"""Canonical Order <-> legacy order object: one reversible mapping, used both ways.

`ORDER` renders every operation's response; `ORDER_FROM_WIRE`, its reverse, reads a legacy
order as legacy's list route answers it (the backfill's history rows, bridge/cutover/backfill.py),
with the app supplied by the caller (the order object does not carry it).

Quirks handled:
- `created_at` is `YYYY-MM-DD HH:MM:SS` in UTC (seed examples).
- Both `user_id` (list, get and update examples) and `user` (create example) are emitted on
  every operation, so a client written against any one example finds its key.
- `user.available_points` only appears when the app's `enable_mpoints_info_in_users_api`
  option is on (the service fills `available_points` only then); it is an integer, as the
  seed's attribute table says (its example shows the string "0").
- Every integer field (`id`, `offer_id`, `quantity`, `points`, `user.available_points`) is a
  JSON integer and `user_id` a string: the clients' models (docs/clients.md) type them so, and
  SessionM's C# SDK reads `id`, `offer_id`, `quantity` and `points` as 32-bit integers.
- Keys with no value (`external_id`, `shipping_address`, `logo`, `description`) are left out,
  as in the seed examples, rather than sent as null: an offer without a logo gives an order
  without `logo`, which every client model reads as "no logo" (docs/clients.md).
- On the way back, `user.id` is a copy of `user_id` (read from `user_id`); an empty address
  object is no address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, TypeAdapter

from bridge.canonical import ErrorCode, Order, OrderStatus, ShippingAddress
from bridge.mapping import Converter, Mapping, rename, same
from mappings.legacy.wire import HistoryOrderWire, OrderWire, ShippingAddressWire

CREATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def format_created_at(value: datetime) -> str:
    """Aware datetime -> `YYYY-MM-DD HH:MM:SS` in UTC, written once per second it names: the
    orders of one second, and an order rendered again, share the text."""
    return _second_text((value.astimezone(UTC) - EPOCH) // SECOND)


@lru_cache(maxsize=1024)
def _second_text(second: int) -> str:
    """A second since the epoch as ISO 8601's text to the second, with a space: what
    `CREATED_AT_FORMAT` writes, with the year always four digits, as `parse_created_at`
    reads it."""
    return (EPOCH + second * SECOND).isoformat(" ")[:19]


def parse_created_at(text: str) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` (UTC) -> aware datetime; a ValueError for anything else."""
    return datetime.strptime(text, CREATED_AT_FORMAT).replace(tzinfo=UTC)


def status_value(status: OrderStatus) -> str:
    """The status as its legacy string."""
    return status.value


def address_fields(address: BaseModel | dict[str, Any]) -> dict[str, Any] | None:
    """An address's fields (of either side's model, or as received); none when empty."""
    fields = address.model_dump() if isinstance(address, BaseModel) else address
    return fields or None


LEGACY_CREATED_AT = Converter("YYYY-MM-DD HH:MM:SS UTC", format_created_at, parse_created_at)
STATUS = Converter("status value", status_value, OrderStatus)
ADDRESS = Converter("address fields", address_fields, address_fields)

ORDER = Mapping(
    module=__name__,
    direction="canonical order -> legacy order object",
    source=Order,
    target=OrderWire,
    fields=(
        rename("user_id", "customer_id"),
        rename("user.id", "customer_id"),
        rename("user.available_points", "available_points"),
        same("status", STATUS),
        same("created_at", LEGACY_CREATED_AT),
        same("shipping_address", ADDRESS),
    ),
)

ORDER_FROM_WIRE: Mapping[Order] = ORDER.reverse(source=HistoryOrderWire, supplied=("app",))
"""A legacy order as legacy's list route answers it -> the canonical order (app supplied)."""


def address_from_wire(address: ShippingAddressWire | None) -> ShippingAddress | None:
    return ShippingAddress(**address.model_dump()) if address else None


ORDER_OBJECT = OrderWire.__pydantic_serializer__
"""Dumps one legacy order object (what `model_dump` runs, without its Python wrapper)."""


def ok_order(order: Order) -> dict[str, Any]:
    wire = ORDER_OBJECT.to_python(ORDER.apply(order), exclude_none=True)
    return {"status": "ok", "order": wire}


ORDER_OBJECTS = TypeAdapter(list[OrderWire])
"""A page of legacy order objects, dumped in one call."""


def ok_orders(orders: list[Order]) -> dict[str, Any]:
    wire = ORDER_OBJECTS.dump_python(ORDER.apply_all(orders), exclude_none=True)
    return {"status": "ok", "orders": wire}


def error_envelope(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"status": "error", "errors": {"code": code.value, "message": message}}
