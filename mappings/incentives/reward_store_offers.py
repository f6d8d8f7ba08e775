"""get_reward_store_offers: the reward-store catalog, for offer names, prices and dates.

POST /offers/api/2.0/offers/rewardstores/get_reward_store_offers

Quirks handled:
- Pages with `skip`/`take` (at most 1000 per page); the total is `total_rows`.
- The logo is the first `offer_details.media[].uri`; an offer without media has no logo.
- Legacy-only facts (offer type, physical, contest, review) have no home upstream: they come
  from the app's id map, not from this call. `LEGACY_OFFER` builds the canonical (legacy)
  `Offer` from a catalog entry, its id-map link and the time it is asked at; the app and the
  legacy offer id are supplied by the caller (the catalog carries neither).

Assumptions (not public):
- `offer_details.internal_name` carries the legacy offer id as `legacy:<id>`; this is the
  documented rule `orders-bridge sync-offers` matches by.
- An offer is on sale between `start_date` and `end_date` (either may be absent).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bridge.canonical import Offer
from bridge.mapping import Call, Mapping, computed, const, each, rename
from mappings.incentives import errors
from mappings.incentives.wire import ISO_DATETIME, Emitted, Frozen, Received, request, response

MAX_TAKE = 1000


class CatalogRequestWire(Emitted):
    retailer_id: str
    reward_store_ids: tuple[str, ...]
    skip: int
    take: int
    culture: str


class MediaWire(Received):
    uri: str


class OfferDetailsWire(Received):
    internal_name: str | None = None
    title: str
    description: str | None = None
    media: tuple[MediaWire, ...] = ()


class StoreOfferWire(Received):
    id: str
    root_offer_id: str | None = None
    reward_store_id: str
    price: int
    start_date: str | None = None
    end_date: str | None = None
    offer_details: OfferDetailsWire


class CatalogPayloadWire(Received):
    reward_store_offers: tuple[StoreOfferWire, ...] = ()
    total_rows: int = 0


class StoreOffer(Frozen):
    reward_store_offer_id: str
    reward_store_id: str
    points: int
    name: str
    description: str | None
    logo: str | None
    internal_name: str | None
    starts_at: datetime | None
    ends_at: datetime | None


class CatalogPage(Frozen):
    entries: tuple[StoreOffer, ...]
    total: int


class OfferFacts(Frozen):
    """The id map's legacy-only facts of one offer, read by attribute from the app's id-map
    link (bridge/incentives/config.py `OfferLink`, which a mapping module cannot import)."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    offer_type: str
    physical: bool
    contest: bool
    review: str | None


class CatalogOffer(Frozen):
    """What a legacy offer is built from: the catalog entry, the id map's link, and `now`,
    the time the offer is asked at (for whether it is on sale)."""

    entry: StoreOffer
    link: OfferFacts
    now: datetime


def first_media_uri(source: BaseModel) -> str | None:
    """The logo is the first media item's URI, if the offer has media at all."""
    assert isinstance(source, StoreOfferWire)
    media = source.offer_details.media
    return media[0].uri if media else None


def on_sale(source: BaseModel) -> bool:
    """An offer is active from its start date (inclusive) until its end date (exclusive), at
    `now`; either date may be absent (no bound)."""
    assert isinstance(source, CatalogOffer)
    entry, now = source.entry, source.now
    return (entry.starts_at is None or entry.starts_at <= now) and (
        entry.ends_at is None or now < entry.ends_at
    )


REQUEST = request(
    __name__, CatalogRequestWire, reward_store_ids=tuple[str, ...], skip=int, take=int
)

OFFER = Mapping(
    module=__name__,
    direction="response item: reward store offer -> canonical",
    source=StoreOfferWire,
    target=StoreOffer,
    fields=(
        rename("reward_store_offer_id", "id"),
        rename("points", "price"),
        rename("name", "offer_details.title"),
        rename("description", "offer_details.description"),
        computed("logo", first_media_uri, reads=("offer_details.media",)),
        rename("internal_name", "offer_details.internal_name"),
        rename("starts_at", "start_date", ISO_DATETIME),
        rename("ends_at", "end_date", ISO_DATETIME),
    ),
)

RESPONSE = response(
    __name__,
    CatalogPayloadWire,
    CatalogPage,
    each("entries", "reward_store_offers", OFFER),
    rename("total", "total_rows"),
)

LEGACY_OFFER: Mapping[Offer] = Mapping(
    module=__name__,
    direction="catalog entry + id-map link -> canonical offer",
    source=CatalogOffer,
    target=Offer,
    fields=(
        const("inventory", None),  # no stock count is read: purchase_offer refuses out of stock
        computed("active", on_sale, reads=("entry.starts_at", "entry.ends_at", "now")),
    ),
    same_from=("entry", "link"),  # name, logo, description, points; the legacy facts
    supplied=("app", "id"),
)

CALL = Call(
    module=__name__,
    name="reward_store_offers",
    method="POST",
    path="/offers/api/2.0/offers/rewardstores/get_reward_store_offers",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=True,
)
