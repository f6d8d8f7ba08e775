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

from bridge.mapping import Mapping, computed, same
from mappings.incentives.wire import Emitted, Frozen

PATH = "/incentives/api/1.0/user_points/deposit"
REFERENCE_TYPE = "legacy_order_refund"


class DepositCall(Frozen):
    retailer_id: str
    user_id: str
    amount: int
    point_account_id: str | None
    reference_id: str
    idempotency_id: str


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
    """The refund is a single deposit detail, traced to its legacy order."""
    assert isinstance(source, DepositCall)
    detail = DepositDetailWire(
        amount=source.amount,
        point_account_id=source.point_account_id,
        reference_id=source.reference_id,
        reference_type=REFERENCE_TYPE,
        idempotency_id=source.idempotency_id,
    )
    return (detail,)


REQUEST = Mapping(
    module=__name__,
    direction="request: canonical -> Incentives",
    source=DepositCall,
    target=DepositRequestWire,
    fields=(
        same("retailer_id"),
        same("user_id"),
        computed(
            "deposit_details",
            one_refund_detail,
            reads=("amount", "point_account_id", "reference_id", "idempotency_id"),
        ),
    ),
)

RESPONSE = None  # nothing in the answer is used
