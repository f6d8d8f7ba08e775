"""Where each field of a legacy order comes from when the Incentives target serves it.

The legacy order object (mappings/legacy/wire.py `OrderWire`) is rendered from the ledger
row, as on every target; this table says where the ledger got each value on this target.
`orders-bridge check-mappings` checks that every legacy field has a line and that every line
names a real field (of a mapping module's canonical result, the id map, or the ledger).
"""

from __future__ import annotations

from typing import NamedTuple


class Source(NamedTuple):
    origin: str
    """`ledger`, `id map`, or the mapping module whose result carries the value."""
    field: str
    """The field in that origin."""
    note: str


LEGACY_ORDER_SOURCES: dict[str, Source] = {
    "id": Source("ledger", "id", "the bridge's integer order id"),
    "offer_id": Source("id map", "reward_store_offer_id", "legacy id <-> reward-store offer"),
    "user_id": Source("core_user", "id", "Core lookup (external_id -> user.id)"),
    "user": Source("core_user", "id", "user.id; available_points below"),
    "user.available_points": Source(
        "all_balances", "available_points", "only when the app shows points"
    ),
    "quantity": Source("ledger", "quantity", "as requested; sent as purchase_offer.quantity"),
    "points": Source("reward_store_offers", "points", "price x quantity at purchase time"),
    "status": Source(
        "ledger", "status", "review decision; approve = manual_redeem, reject = revoke + deposit"
    ),
    "created_at": Source("ledger", "created_at", "the bridge's clock at purchase"),
    "name": Source("reward_store_offers", "name", "offer_details.title, kept at purchase"),
    "logo": Source("reward_store_offers", "logo", "first offer_details.media[].uri"),
    "description": Source("reward_store_offers", "description", "offer_details.description"),
    "offer_type": Source("id map", "offer_type", "legacy-only fact, configured"),
    "external_id": Source("ledger", "external_id", "the integrator's order id, from the request"),
    "shipping_address": Source("ledger", "shipping_address", "from the request, validated"),
}
