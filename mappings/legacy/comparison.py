"""Comparison rules for the shadow differ, one entry per legacy operation. Data, not code.

Read by `bridge.shadow.rules` (validated at start-up) and applied to the two legacy answers
of a shadowed call. Paths are templates: keys joined by `.`, every list element `[]`
(`orders[].status`); `http_status` is the answer's HTTP status.

- `ignore`: differences at a path (or below it) are hidden. Every rule names an owner, a
  reason and an expiry date; after that date the rule stops hiding and the report lists it
  as expired, so nothing stays ignored by accident.
- `tolerance`: numbers at a path are equal when they differ by at most this much.
- `list_keys`: the list at a path is compared element by element by this key field instead
  of by position (an order missing on one side is `missing`/`extra`, not a cascade).
- `equivalent`: groups of values that count as equal at a path (legacy statuses the two
  sides spell differently for the same outcome).

Why each default rule exists:
- `order.id` on create: each store numbers its own orders, so a shadow store's new order can
  never carry the primary's id.
- `order.created_at` on create: the two sides stamp the order a few milliseconds apart,
  and a second boundary can fall between them.
"""

from __future__ import annotations

from typing import Any

OWNER = "orders-bridge"

RULES: dict[str, dict[str, Any]] = {
    "create_order": {
        "ignore": [
            {
                "path": "order.id",
                "owner": OWNER,
                "reason": "each store numbers its own orders; shadow ids never match",
                "expires": "2027-12-31",
            },
            {
                "path": "order.created_at",
                "owner": OWNER,
                "reason": "the two sides stamp the order moments apart",
                "expires": "2027-12-31",
            },
        ],
        "tolerance": {},
        "list_keys": {},
        "equivalent": {"order.status": [["rejected", "redemption_error"]]},
    },
    "list_orders": {
        "ignore": [],
        "tolerance": {},
        "list_keys": {"orders": "id"},
        "equivalent": {"orders[].status": [["rejected", "redemption_error"]]},
    },
    "get_order": {
        "ignore": [],
        "tolerance": {},
        "list_keys": {},
        "equivalent": {"order.status": [["rejected", "redemption_error"]]},
    },
    "update_order_status": {
        "ignore": [],
        "tolerance": {},
        "list_keys": {},
        "equivalent": {"order.status": [["rejected", "redemption_error"]]},
    },
}
