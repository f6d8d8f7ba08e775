"""deposit: give a rejected order's points back.

POST /incentives/api/1.0/user_points/deposit

Quirks handled:
- One deposit detail per refund; `reference_id` is the legacy order id and `reference_type`
  the constant `legacy_order_refund`, so the refund can be traced to its order.
- `idempotency_id` is derived from the legacy order id, so a retried reject never refunds twice.

Assumptions (not public): the response payload carries nothing the bridge needs; a deposit
repeated with the same `idempotency_id` is applied once.
"""

from __future__ import annotations

from pydantic import BaseModel

from bridge.mapping import Call, Mapping, computed, const
from mappings.incentives import errors
from mappings.incentives.wire import Emitted, request

REFERENCE_TYPE = "legacy_order_refund"


class DepositDetailWire(Emitted):
    amount: int
    point_account_id: str | None = None
    reference_id: str
    reference_type: str
    idempotency_id: str


class DepositRequestWire(Emitted):
    retailer_id: str
    user_id: str
    deposit_details: tuple[DepositDetailWire, ...]


def one_refund_detail(source: BaseModel) -> tuple[DepositDetailWire, ...]:
    """The refund is a single deposit detail (`DETAIL`), traced to its legacy order."""
    return (DETAIL.apply(source),)


REQUEST = request(
    __name__,
    DepositRequestWire,
    computed(
        "deposit_details",
        one_refund_detail,
        reads=("amount", "point_account_id", "reference_id", "idempotency_id"),
    ),
    user_id=str,
    amount=int,
    point_account_id=str | None,
    reference_id=str,
    idempotency_id=str,
)

DETAIL = Mapping(
    module=__name__,
    direction="request item: canonical -> deposit detail",
    source=REQUEST.source,
    target=DepositDetailWire,
    fields=(const("reference_type", REFERENCE_TYPE),),
)

RESPONSE = None  # nothing in the answer is used

CALL = Call(
    module=__name__,
    name="deposit",
    method="POST",
    path="/incentives/api/1.0/user_points/deposit",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=False,
)
