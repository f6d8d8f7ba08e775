"""manual_redeem: fulfil an issued reward when an order is approved.

POST /offers/api/2.0/offers/redemption/manual_redeem

Assumptions (not public): the request is `{retailer_id, user_offer_id}` (our decision); the
response payload carries nothing the bridge needs; redeeming an already redeemed reward answers
ok (so a retried approve is harmless).
"""

from __future__ import annotations

from bridge.mapping import Mapping, same
from mappings.incentives.wire import Emitted, Frozen

PATH = "/offers/api/2.0/offers/redemption/manual_redeem"


class RedeemCall(Frozen):
    retailer_id: str
    user_offer_id: str


class RedeemRequestWire(Emitted):
    retailer_id: str
    user_offer_id: str


REQUEST = Mapping(
    module=__name__,
    direction="request: canonical -> Incentives",
    source=RedeemCall,
    target=RedeemRequestWire,
    fields=(
        same("retailer_id"),
        same("user_offer_id"),
    ),
)

RESPONSE = None  # nothing in the answer is used
