"""revoke: take back an issued reward when an order is rejected.

POST /offers/api/2.0/offers/acquisition/revoke

Quirks handled:
- The legacy API has no reason field; the reason sent is a constant naming the bridge.
- Revoke does not refund points: the refund is a separate `deposit` (see deposit.py).

Assumptions (not public): the response payload carries nothing the bridge needs; revoking an
already revoked reward answers ok (so a retried reject is harmless).
"""

from __future__ import annotations

from bridge.mapping import Mapping, const, same
from mappings.incentives.wire import Emitted, Frozen

PATH = "/offers/api/2.0/offers/acquisition/revoke"
REASON = "order rejected through the legacy Orders API"


class RevokeCall(Frozen):
    retailer_id: str
    user_offer_id: str


class RevokeRequestWire(Emitted):
    retailer_id: str
    user_offer_id: str
    reason: str


REQUEST = Mapping(
    module=__name__,
    direction="request: canonical -> Incentives",
    source=RevokeCall,
    target=RevokeRequestWire,
    fields=(
        same("retailer_id"),
        same("user_offer_id"),
        const("reason", REASON),
    ),
)

RESPONSE = None  # nothing in the answer is used
