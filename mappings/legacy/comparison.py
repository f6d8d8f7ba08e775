"""Comparison rules for the shadow differ, one entry per legacy operation. Data, not code.

Read by `bridge.shadow.rules` (validated at start-up) and applied to the two legacy answers
of a shadowed call. Paths are templates: keys joined by `.`, every list element `[]`
(`orders[].status`); `http_status` is the answer's HTTP status.

- `ignore`: differences at a path (or below it) are hidden. Every rule names an owner, a
  reason and an expiry date; after that date the rule stops hiding and the report lists it
  as expired, so nothing stays ignored by accident.
- `tolerance`: numbers at a path are equal when they differ by at most this much.
- `time_tolerance`: date-times at a path (`2026-12-05 01:02:03`, or ISO 8601) are equal when
  both are written the same way and lie at most this many seconds apart. Written differently
  (another format, a zone on one side only) they differ.
- `list_keys`: the list at a path is compared element by element by this key field instead
  of by position (an order missing on one side is `missing`/`extra`, not a cascade).
- `equivalent`: groups of values that count as equal at a path (legacy statuses the two
  sides spell differently for the same outcome).

Order ids need no rule: the runner correlates them by construction (a shadowed create records
the pair of ids, later calls are sent with the shadow's id, and the shadow's answer is read
back with the primary's ids; docs/shadowing.md "Order ids").

Why each default rule exists:
- `created_at`, on every operation that returns an order: the shadow side makes its order
  when the shadow runs, after the primary answered: milliseconds later, or seconds when the
  shadow queue is long, so a second boundary often falls between the two stamps. 120 s covers
  the default queue and call timeout; a later stamp (a wrong zone, a wrong field) still shows.
- `user.available_points`: each side keeps its own ledger. The balances agree only while
  every write is shadowed and accepted on both sides; a sampled create, a shadow-side refusal
  or a dropped shadow makes them drift for good. The debit itself is compared at
  `order.points` (and the refusal at `http_status`), so nothing about the translation is lost.
"""

from __future__ import annotations

from typing import Any

OWNER = "orders-bridge"
STAMP_SECONDS = 120.0
STATUSES = [["rejected", "redemption_error"]]


def _balance(path: str) -> dict[str, str]:
    return {
        "path": path,
        "owner": OWNER,
        "reason": "each side keeps its own ledger; the debit is compared at points",
        "expires": "2027-12-31",
    }


def _one_order() -> dict[str, Any]:
    """The rules of an operation answering one order (create, get, update)."""
    return {
        "ignore": [_balance("order.user.available_points")],
        "tolerance": {},
        "time_tolerance": {"order.created_at": STAMP_SECONDS},
        "list_keys": {},
        "equivalent": {"order.status": STATUSES},
    }


RULES: dict[str, dict[str, Any]] = {
    "create_order": _one_order(),
    "list_orders": {
        "ignore": [_balance("orders[].user.available_points")],
        "tolerance": {},
        "time_tolerance": {"orders[].created_at": STAMP_SECONDS},
        "list_keys": {"orders": "id"},
        "equivalent": {"orders[].status": STATUSES},
    },
    "get_order": _one_order(),
    "update_order_status": _one_order(),
}
