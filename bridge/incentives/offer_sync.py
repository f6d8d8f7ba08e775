"""sync-offers: build an app's legacy offer id map from its reward-store catalog.

The matching rule (documented in docs/mappings.md): a reward-store offer whose
`offer_details.internal_name` is `legacy:<N>` is legacy offer N. Offers without such a name are
reported as unmatched, never guessed. Legacy-only facts already configured for an id (type,
physical, contest, review) are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bridge.clock import Clock
from bridge.incentives.config import OfferLink
from bridge.incentives.tenant import Tenant
from bridge.settings import AppConfig
from mappings.incentives.reward_store_offers import StoreOffer

LEGACY_NAME = re.compile(r"^legacy:(\d{1,18})$")


def legacy_id(offer: StoreOffer) -> int | None:
    match = LEGACY_NAME.match(offer.internal_name or "")
    return int(match.group(1)) if match else None


def build_id_map(
    offers: Sequence[StoreOffer], known: dict[int, OfferLink]
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """The `offers:` block for the apps file, and a line per offer that matched nothing."""
    id_map: dict[int, dict[str, Any]] = {}
    unmatched = []
    for offer in offers:
        number = legacy_id(offer)
        if number is None:
            unmatched.append(f"{offer.reward_store_offer_id} {offer.name!r}")
            continue
        link = known.get(number)
        facts = (
            link.model_dump(exclude={"reward_store_id", "reward_store_offer_id"}) if link else {}
        )
        id_map[number] = {
            **facts,
            "reward_store_id": offer.reward_store_id,
            "reward_store_offer_id": offer.reward_store_offer_id,
        }
    return id_map, unmatched


async def match_offers(
    app: AppConfig, clock: Clock, store_ids: Sequence[str] = ()
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Pull the catalog of the app's reward stores and match it by the rule above."""
    assert app.incentives is not None
    tenant = Tenant.build_all([app], clock)[0]
    stores = list(store_ids) or sorted(
        {link.reward_store_id for link in app.incentives.offers.values()}
    )
    await tenant.client.open()
    try:
        catalog = await tenant.fetch_catalog(stores)
    finally:
        await tenant.client.close()
    return build_id_map(list(catalog.values()), dict(app.incentives.offers))
