"""fetch_point_audit_logs: a customer's points history, which `reconcile` reads.

POST /incentives/api/1.0/point_audit_logs/fetch_point_audit_logs

Quirks handled:
- Pages with `skip`/`take`; the total is `total_records`, the entries are `results`.
- `modification` is signed: a purchase's debit is negative, a deposit (a refund) positive.

Assumptions (not public; the public pages name only `modification` and `time_of_occurrence`):
- Each entry carries the `reference_type`, `reference_id` and `idempotency_id` of the spend or
  deposit that made it, as spend and deposit details do in client code: a purchase's debit
  names its `user_offer_id` (`reference_type` `user_offer`) and the purchase's idempotency id;
  a refund names what `deposit` sent (`legacy_order_refund`, the legacy order id).
- A purchase's debit stays in the history when the purchase is revoked (revoke refunds
  nothing), so a revoked purchase is still found here.
"""

from __future__ import annotations

from datetime import datetime

from bridge.mapping import Call, Mapping, each, rename
from mappings.incentives import errors
from mappings.incentives.wire import ISO_DATETIME, Emitted, Frozen, Received, request, response

PAGE_SIZE = 500
PURCHASE_REFERENCE = "user_offer"


class HistoryRequestWire(Emitted):
    retailer_id: str
    user_id: str
    skip: int
    take: int


class AuditEntryWire(Received):
    modification: int
    time_of_occurrence: str
    reference_type: str | None = None
    reference_id: str | None = None
    idempotency_id: str | None = None


class HistoryPayloadWire(Received):
    results: tuple[AuditEntryWire, ...] = ()
    total_records: int = 0


class PointEntry(Frozen):
    points: int
    at: datetime
    reference_type: str | None
    reference_id: str | None
    idempotency_id: str | None


class HistoryPage(Frozen):
    entries: tuple[PointEntry, ...]
    total: int


REQUEST = request(__name__, HistoryRequestWire, user_id=str, skip=int, take=int)

ENTRY = Mapping(
    module=__name__,
    direction="response item: audit log entry -> canonical",
    source=AuditEntryWire,
    target=PointEntry,
    fields=(
        rename("points", "modification"),
        rename("at", "time_of_occurrence", ISO_DATETIME),
    ),
)

RESPONSE = response(
    __name__,
    HistoryPayloadWire,
    HistoryPage,
    each("entries", "results", ENTRY),
    rename("total", "total_records"),
)

CALL = Call(
    module=__name__,
    name="point_audit_logs",
    method="POST",
    path="/incentives/api/1.0/point_audit_logs/fetch_point_audit_logs",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=True,
)
