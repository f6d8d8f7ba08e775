"""Canonical Order -> legacy order object, used by every operation's response.

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
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bridge.canonical import ErrorCode, Order, ShippingAddress
from mappings.legacy.wire import OrderWire, ShippingAddressEmitted, ShippingAddressWire, UserWire

CREATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"


def order_to_wire(order: Order) -> OrderWire:
    return OrderWire(
        id=order.id,
        offer_id=order.offer_id,
        user_id=order.customer_id,
        user=UserWire(id=order.customer_id, available_points=order.available_points),
        quantity=order.quantity,
        points=order.points,
        status=order.status.value,
        created_at=order.created_at.astimezone(UTC).strftime(CREATED_AT_FORMAT),
        name=order.name,
        logo=order.logo,
        description=order.description,
        offer_type=order.offer_type,
        external_id=order.external_id,
        shipping_address=_address_to_wire(order.shipping_address),
    )


def _address_to_wire(address: ShippingAddress | None) -> ShippingAddressEmitted | None:
    return ShippingAddressEmitted(**address.model_dump()) if address else None


def address_from_wire(address: ShippingAddressWire | None) -> ShippingAddress | None:
    return ShippingAddress(**address.model_dump()) if address else None


def ok_order(order: Order) -> dict[str, Any]:
    return {"status": "ok", "order": order_to_wire(order).model_dump(exclude_none=True)}


def ok_orders(orders: list[Order]) -> dict[str, Any]:
    wire = [order_to_wire(order).model_dump(exclude_none=True) for order in orders]
    return {"status": "ok", "orders": wire}


def error_envelope(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"status": "error", "errors": {"code": code.value, "message": message}}
