"""Legacy update-order-status request -> the requested canonical OrderStatus.

Routes: POST and PUT .../orders/{order_id} and .../external/orders/{external_order_id}.

Quirks handled:
- The body is wrapped: `{"order": {"status": "approved"}}`; no status is `missing_data`, and
  a status not given (null, empty or blank, wire.py `Received`) is no status.
- A status value the legacy API does not know is `invalid_request_order_status`; whether a
  known status is reachable from the order's current one is the order service's decision
  (`invalid_order_status`).
"""

from __future__ import annotations

from typing import Any

from bridge.canonical import ErrorCode, OrderStatus
from bridge.errors import RequestError
from mappings.legacy.parse import parse_wire, unwrap_order
from mappings.legacy.wire import UpdateOrderWire


def requested_status_from_wire(body: Any) -> OrderStatus:
    wire = parse_wire(UpdateOrderWire, unwrap_order(body))
    if wire.status is None:
        raise RequestError(ErrorCode.MISSING_DATA, "order.status is required.", "order.status")
    try:
        return OrderStatus(wire.status)
    except ValueError as exc:
        raise RequestError(
            ErrorCode.INVALID_REQUEST_ORDER_STATUS,
            f"{wire.status!r} is not an order status.",
            "order.status",
        ) from exc
