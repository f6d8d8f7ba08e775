"""get_user_offers: a customer's wallet, which the reconciler reads to settle unknown purchases.

POST /offers/api/2.0/offers/get_user_offers

Quirks handled:
- Pages with `skip`/`take`; the total is `total_records`.
- The wallet entry's id is `id` here, although purchase_offer calls the same thing
  `user_offer_id`.

Assumption (not public): every wallet entry carries the `idempotency_id` of the purchase that
issued it. That is what lets the reconciler decide, without guessing, whether a purchase whose
answer was lost went through.
"""

from __future__ import annotations

from bridge.mapping import Call, Mapping, each, rename
from mappings.incentives import errors
from mappings.incentives.wire import Emitted, Frozen, Received, request, response

PAGE_SIZE = 100


class WalletRequestWire(Emitted):
    retailer_id: str
    user_id: str
    skip: int
    take: int
    culture: str


class UserOfferEntryWire(Received):
    id: str
    offer_id: str
    idempotency_id: str | None = None


class WalletPayloadWire(Received):
    user_offers: tuple[UserOfferEntryWire, ...] = ()
    total_records: int = 0


class WalletEntry(Frozen):
    user_offer_id: str
    offer_id: str
    idempotency_id: str | None


class WalletPage(Frozen):
    entries: tuple[WalletEntry, ...]
    total: int


REQUEST = request(__name__, WalletRequestWire, user_id=str, skip=int, take=int)

ENTRY = Mapping(
    module=__name__,
    direction="response item: user offer -> canonical",
    source=UserOfferEntryWire,
    target=WalletEntry,
    fields=(rename("user_offer_id", "id"),),
)

RESPONSE = response(
    __name__,
    WalletPayloadWire,
    WalletPage,
    each("entries", "user_offers", ENTRY),
    rename("total", "total_records"),
)

CALL = Call(
    module=__name__,
    name="user_offers",
    method="POST",
    path="/offers/api/2.0/offers/get_user_offers",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=True,
)
