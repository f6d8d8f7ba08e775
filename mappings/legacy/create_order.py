"""Legacy create-order request -> canonical PlaceOrder.

Routes: POST .../users/{user_id}/offers/{offer_id}/orders and the external/users variant.

Quirks handled:
- The body is wrapped: `{"order": {...}}`; a missing `order` is `missing_data`.
- A field that is not given (null, an empty or blank string, an object with nothing given in
  it) is absent: SessionM's C# SDK sends `"email": ""` and `"ip": ""` for "none", so the
  fulfilment email falls back to the customer's and no IP is checked (wire.py `Received`).
- `recaptcha_challenge_field`, `recaptcha_response_field` (sent by the C# SDK) and any other
  unknown key are ignored, as the legacy API ignored them.
- `quantity` defaults to 1 and must be a positive integer (the app's `max_quantity` bound is
  checked by the order service, which knows the app).
- `quantity` and `challenge.id` may come as strings of digits; they refuse JSON booleans
  (Python would read `true` as 1), and `challenge.id` must fit the store's 64-bit integer.
- `email` (the fulfilment address), when given, must look like one: `local@domain`, no
  whitespace; a non-empty malformed one is refused, never dropped.
- `challenge` is an object whose `id` names a skills-test challenge.
- `status` (documented as optional) may only ask to hold the order for review
  (`pending_approval`); a client cannot approve its own order, so any other known status is
  refused with `invalid_request_order_status`, as is an unknown one.
- `external_id` (the integrator's order id, used by the external/orders routes) is accepted.
"""

from __future__ import annotations

from typing import Any

from bridge.canonical import CustomerRef, ErrorCode, OrderStatus, PlaceOrder
from bridge.errors import RequestError
from mappings.legacy.order import address_from_wire
from mappings.legacy.parse import parse_wire, unwrap_order
from mappings.legacy.wire import CreateOrderWire


def place_order_from_wire(body: Any, customer: CustomerRef, offer_id: int) -> PlaceOrder:
    wire = parse_wire(CreateOrderWire, unwrap_order(body))
    if wire.quantity < 1:
        raise RequestError(
            ErrorCode.VALIDATION, "order.quantity must be a positive integer.", "order.quantity"
        )
    return PlaceOrder(
        customer=customer,
        offer_id=offer_id,
        quantity=wire.quantity,
        email=wire.email,
        ip=wire.ip,
        shipping_address=address_from_wire(wire.shipping_address),
        challenge_id=wire.challenge.id if wire.challenge else None,
        external_id=wire.external_id,
        hold_for_review=_hold_for_review(wire.status),
    )


def _hold_for_review(status: str | None) -> bool:
    if status is None:
        return False
    if status == OrderStatus.PENDING_APPROVAL.value:
        return True
    raise RequestError(
        ErrorCode.INVALID_REQUEST_ORDER_STATUS,
        f"An order can only be created as pending_approval, not {status!r}.",
        "order.status",
    )
