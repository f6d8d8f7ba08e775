"""manual_redeem: fulfil an issued reward when an order is approved.

POST /offers/api/2.0/offers/redemption/manual_redeem

Assumptions (not public): the request is `{retailer_id, user_offer_id}` (our decision); the
response payload carries nothing the bridge needs; redeeming an already redeemed reward answers
ok (so a retried approve is harmless).
"""

from __future__ import annotations

from bridge.mapping import Call
from mappings.incentives import errors
from mappings.incentives.wire import Emitted, request


class RedeemRequestWire(Emitted):
    retailer_id: str
    user_offer_id: str


REQUEST = request(__name__, RedeemRequestWire, user_offer_id=str)

RESPONSE = None  # nothing in the answer is used

CALL = Call(
    module=__name__,
    name="manual_redeem",
    method="POST",
    path="/offers/api/2.0/offers/redemption/manual_redeem",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=False,
)
