"""The sandbox's GUIDs: deterministic, so a bridge's id map can be written down once.

Tenant, reward store, offer and point-account ids are uuid5 of a readable name; a user offer's
id encodes the sandbox's own order number, so it can be turned back without a lookup table.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("0d1f6c1e-5a2b-4c8e-9f3a-5e55a0d0b000")
USER_OFFER_PREFIX = 0x5E55_0FFE_0000_0000_0000_0000_0000_0000
ORDER_MASK = (1 << 64) - 1


def _named(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def retailer_id(app: str) -> str:
    return _named(f"retailer:{app}")


def reward_store_id(app: str) -> str:
    return _named(f"reward-store:{app}")


def store_offer_id(app: str, offer_id: int) -> str:
    return _named(f"reward-store-offer:{app}:{offer_id}")


def root_offer_id(app: str, offer_id: int) -> str:
    return _named(f"offer:{app}:{offer_id}")


def point_account_id(app: str) -> str:
    return _named(f"point-account:{app}")


def user_offer_id(order_id: int) -> str:
    return str(uuid.UUID(int=USER_OFFER_PREFIX | order_id))


def order_id_of(user_offer: str) -> int | None:
    """The sandbox order number inside a user offer id; None for an id it did not issue."""
    try:
        value = uuid.UUID(user_offer).int
    except ValueError:
        return None
    if value & ~ORDER_MASK != USER_OFFER_PREFIX:
        return None
    return value & ORDER_MASK
