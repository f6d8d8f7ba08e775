"""purchase_offer: place an order, i.e. spend the points and issue the reward in one step.

POST /offers/api/2.0/offers/rewardstores/purchase_offer

Quirks handled:
- The legacy offer id becomes `(reward_store_id, reward_store_offer_id)` through the app's id
  map before this mapping runs; the order's purchase key becomes `idempotency_id`.
- `acquire_date` is .NET ISO-8601 (seven fractional digits).

Assumptions (not public; correct them here against a real tenant):
- The response payload is `{"user_offer": {user_offer_id, offer_id, acquire_date, ...},
  "points_remaining": n}` (the SDK's equivalent call).
- A top-level `idempotency_id` makes a repeated purchase answer with the first purchase's result
  instead of spending again (the spend details carry such an id in client code).
- `point_account_ids` may be omitted: the documentation calls it required, but then the
  retailer's default account is the only sensible value, and the bridge does not know it.
"""

from __future__ import annotations

from datetime import datetime

from bridge.canonical import Order
from bridge.mapping import Call, rename
from mappings.incentives import errors
from mappings.incentives.wire import ISO_DATETIME, Emitted, Frozen, Received, request, response


class PurchaseRequestWire(Emitted):
    retailer_id: str
    user_id: str
    reward_store_id: str
    reward_store_offer_id: str
    quantity: int
    culture: str
    idempotency_id: str


class UserOfferWire(Received):
    user_offer_id: str
    offer_id: str
    acquire_date: str


class PurchasePayloadWire(Received):
    user_offer: UserOfferWire
    points_remaining: int | None = None


class PurchaseResult(Frozen):
    user_offer_id: str
    offer_id: str
    acquired_at: datetime
    points_remaining: int | None


REQUEST = request(
    __name__,
    PurchaseRequestWire,
    rename("user_id", "order.customer_id"),
    rename("quantity", "order.quantity"),
    order=Order,
    reward_store_id=str,
    reward_store_offer_id=str,
    idempotency_id=str,
)

RESPONSE = response(
    __name__,
    PurchasePayloadWire,
    PurchaseResult,
    rename("user_offer_id", "user_offer.user_offer_id"),
    rename("offer_id", "user_offer.offer_id"),
    rename("acquired_at", "user_offer.acquire_date", ISO_DATETIME),
)

CALL = Call(
    module=__name__,
    name="purchase_offer",
    method="POST",
    path="/offers/api/2.0/offers/rewardstores/purchase_offer",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=False,
)
