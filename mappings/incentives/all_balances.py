"""all_balances: a customer's points, for the legacy `user.available_points`.

POST /incentives/api/1.0/user_points/all_balances

Quirks handled:
- `user.available_points` is the sum of `details[].available_balance` over the customer's
  point accounts (a decision: `summary.total_points` may count points that are not spendable).
- A customer with no point account has 0 points.
"""

from __future__ import annotations

from pydantic import BaseModel

from bridge.mapping import Call, computed
from mappings.incentives import errors
from mappings.incentives.wire import Emitted, Frozen, Received, request, response


class BalancesRequestWire(Emitted):
    retailer_id: str
    user_id: str
    culture: str


class BalanceDetailWire(Received):
    point_account_id: str | None = None
    account_name: str | None = None
    available_balance: int = 0


class BalanceSummaryWire(Received):
    total_points: int = 0


class BalancesPayloadWire(Received):
    summary: BalanceSummaryWire | None = None
    details: tuple[BalanceDetailWire, ...] = ()


class Balances(Frozen):
    available_points: int
    point_account_id: str | None


def total_available(source: BaseModel) -> int:
    """Spendable points: the sum of every account's available balance."""
    assert isinstance(source, BalancesPayloadWire)
    return sum(detail.available_balance for detail in source.details)


def first_account(source: BaseModel) -> str | None:
    """The account a refund goes back to: the customer's first point account."""
    assert isinstance(source, BalancesPayloadWire)
    return source.details[0].point_account_id if source.details else None


REQUEST = request(__name__, BalancesRequestWire, user_id=str)

RESPONSE = response(
    __name__,
    BalancesPayloadWire,
    Balances,
    computed("available_points", total_available, reads=("details",)),
    computed("point_account_id", first_account, reads=("details",)),
)

CALL = Call(
    module=__name__,
    name="all_balances",
    method="POST",
    path="/incentives/api/1.0/user_points/all_balances",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=True,
)
