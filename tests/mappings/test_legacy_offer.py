"""`reward_store_offers.LEGACY_OFFER`: the legacy offer from a catalog entry, the app's id-map
link and the time it is asked at (on sale from its start date until its end date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.canonical import Offer
from bridge.incentives.config import OfferLink
from mappings.incentives.reward_store_offers import LEGACY_OFFER, CatalogOffer, StoreOffer

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 2, 1, tzinfo=UTC)
LINK = OfferLink(
    reward_store_id="store", reward_store_offer_id="offer", physical=True, review="review"
)


def legacy_offer(now: datetime, starts_at: datetime | None, ends_at: datetime | None) -> Offer:
    entry = StoreOffer(
        reward_store_offer_id="offer",
        reward_store_id="store",
        points=100,
        name="Headphones",
        description=None,
        logo=None,
        internal_name="legacy:2",
        starts_at=starts_at,
        ends_at=ends_at,
    )
    source = CatalogOffer.model_validate({"entry": entry, "link": LINK, "now": now})
    return LEGACY_OFFER.apply(source, app="demo", id=2)


@pytest.mark.parametrize(
    ("now", "starts_at", "ends_at", "active"),
    [
        (START - timedelta(microseconds=1), START, END, False),
        (START, START, END, True),  # from the start date, inclusive
        (END - timedelta(microseconds=1), START, END, True),
        (END, START, END, False),  # until the end date, exclusive
        (START - timedelta(days=365), None, END, True),  # no start: on sale until the end
        (END + timedelta(days=365), START, None, True),  # no end: on sale from the start
        (END, None, None, True),
    ],
)
def test_an_offer_is_on_sale_between_its_dates(
    now: datetime, starts_at: datetime | None, ends_at: datetime | None, active: bool
) -> None:
    assert legacy_offer(now, starts_at, ends_at).active is active


def test_the_id_map_link_gives_the_legacy_facts_and_the_caller_the_app_and_id() -> None:
    offer = legacy_offer(START, None, None)
    assert (offer.app, offer.id, offer.points, offer.inventory) == ("demo", 2, 100, None)
    assert (offer.offer_type, offer.physical, offer.contest, offer.review) == (
        "reward",
        True,
        False,
        "review",
    )
