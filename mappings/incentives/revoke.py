"""revoke: take back an issued reward when an order is rejected.

POST /offers/api/2.0/offers/acquisition/revoke

Quirks handled:
- The legacy API has no reason field; the reason sent is a constant naming the bridge.
- Revoke does not refund points: the refund is a separate `deposit` (see deposit.py).

Assumptions (not public): the response payload carries nothing the bridge needs; revoking an
already revoked reward answers ok (so a retried reject is harmless).
"""

from __future__ import annotations

from bridge.mapping import Call, const
from mappings.incentives import errors
from mappings.incentives.wire import Emitted, request

REASON = "order rejected through the legacy Orders API"


class RevokeRequestWire(Emitted):
    retailer_id: str
    user_offer_id: str
    reason: str


REQUEST = request(__name__, RevokeRequestWire, const("reason", REASON), user_offer_id=str)

RESPONSE = None  # nothing in the answer is used

CALL = Call(
    module=__name__,
    name="revoke",
    method="POST",
    path="/offers/api/2.0/offers/acquisition/revoke",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=False,
)
