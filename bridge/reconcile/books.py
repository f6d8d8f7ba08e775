"""Books reconciliation: one customer's ledger rows against the upstream's facts (pure).

`compare` takes what the ledger says (the app's rows on the Incentives target) and what the
upstream says (purchases from the points history and wallet, deposits from the points history)
and returns the drift between them, each record with the repair that undoes it. No I/O here:
bridge/reconcile/commands.py reads both sides, applies the repairs and reports
(docs/reconcile.md).

A ledger row *stands* when it is an order (approved, pending approval or redemption error)
whose purchase was confirmed (`backend_ref`); it is *undone* when rejected or voided. A row
with no `backend_ref` that is not undone, or with a compensation still queued in the outbox,
is being settled by the bridge: it is left alone, and so is the purchase it names.

| kind | ledger | upstream | repair |
|---|---|---|---|
| order_without_purchase | row stands | no purchase, or it was revoked | void the row |
| purchase_without_order | row undone, or no row | purchase stands | revoke + refund |
| refund_missing | row undone, or no row | purchase revoked, no refund | refund |
| refund_doubled | | more than one refund for one purchase | manual |
| refund_unexpected | row stands, or no purchase | a refund | manual |
| balance_mismatch | points the standing rows cost | points debited less refunds | follows |
| outcome_unknown | unknown row nothing will settle | (whatever landed) | the bridge's undo |

A purchase belongs to a row when it carries the row's purchase idempotency id, or is the row's
recorded user_offer_id. A refund belongs to a row when it carries the row's refund idempotency
id, or names the row's legacy order id as a `legacy_order_refund`; to a purchase no row stands
for, when it carries `orphan_refund_key` of the purchase or names its user_offer_id.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from bridge.store.ledger import VOIDED
from mappings.incentives.deposit import REFERENCE_TYPE as REFUND_REFERENCE

STANDING = frozenset({"approved", "pending_approval", "redemption_error"})
UNDONE = frozenset({"rejected", VOIDED})
ORPHAN_NAMESPACE = uuid.UUID("9b1f3c4e-7a2d-5e8f-b6c1-2d4e6f8a0c13")


class DriftKind(enum.StrEnum):
    ORDER_WITHOUT_PURCHASE = "order_without_purchase"
    PURCHASE_WITHOUT_ORDER = "purchase_without_order"
    REFUND_MISSING = "refund_missing"
    REFUND_DOUBLED = "refund_doubled"
    REFUND_UNEXPECTED = "refund_unexpected"
    BALANCE_MISMATCH = "balance_mismatch"
    OUTCOME_UNKNOWN = "outcome_unknown"


class Repair(enum.StrEnum):
    VOID = "void"
    UNDO_PURCHASE = "revoke_and_refund"
    REVOKE = "revoke"
    REFUND = "refund"
    UNDO_UNKNOWN = "undo_unknown"
    """The bridge's own undo of a row left unknown (`Compensation.undo_purchase`): void it,
    then revoke and refund whatever landed."""
    MANUAL = "manual"
    """Nothing the bridge may do on its own (taking points back needs a person)."""
    FOLLOWS = "follows"
    """Repaired by the repairs of the customer's other drift."""


@dataclass(frozen=True)
class LedgerRow:
    order_id: int
    customer_id: str
    points: int
    status: str
    backend_ref: str | None
    created_at: datetime
    purchase_key: str
    refund_key: str
    compensating: bool = False
    """The bridge's own compensation of the row is still queued (undo or finish of a reject)."""
    abandoned: bool = False
    """Unknown (no upstream reference, not undone), past the window in which its purchase may
    still land, and with no compensation queued: nothing of the bridge's will settle it."""
    context: bool = False
    """Created before `--since`: read only to recognise the purchase it made (which may have
    landed after `--since`), never reported itself."""

    @property
    def stands(self) -> bool:
        return self.status in STANDING and self.backend_ref is not None

    @property
    def settling(self) -> bool:
        """Left alone: the bridge's own settling owns it (its outcome is not recorded yet, or
        one of its compensations is still queued), or it is only context."""
        unknown = self.backend_ref is None and self.status not in UNDONE
        return self.compensating or self.context or (unknown and not self.abandoned)


@dataclass(frozen=True)
class UpstreamPurchase:
    user_offer_id: str
    idempotency_id: str | None
    points: int
    at: datetime
    standing: bool
    """In the wallet (issued or redeemed); False when it was revoked."""


@dataclass(frozen=True)
class Deposit:
    amount: int
    idempotency_id: str | None
    reference_type: str | None
    reference_id: str | None
    at: datetime


@dataclass(frozen=True)
class CustomerBooks:
    app: str
    customer_id: str
    rows: tuple[LedgerRow, ...]
    purchases: tuple[UpstreamPurchase, ...]
    deposits: tuple[Deposit, ...]


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    customer_id: str
    points: int
    repair: Repair
    order_id: int | None = None
    status: str | None = None
    """The row's status when read (a void only moves a row still in it)."""
    user_offer_id: str | None = None
    refund_key: str | None = None
    """The idempotency id a refund repair deposits with (stable: a second repair is a no-op)."""
    refund_reference: str | None = None
    """What the refund names: the legacy order id, or the user_offer_id of an orphan."""


def orphan_refund_key(app: str, user_offer_id: str) -> str:
    """The refund idempotency id for a purchase no ledger row stands for."""
    return str(uuid.uuid5(ORPHAN_NAMESPACE, f"{app}:{user_offer_id}:refund"))


def compare(books: CustomerBooks) -> list[Drift]:
    """Every drift between one customer's ledger rows and upstream facts, in a stable order.

    Linear in the rows, purchases and deposits (each side is indexed once): a customer with
    thousands of purchases costs what reading them costs.
    """
    index = _Index(books)
    drift: list[Drift] = []
    claimed: set[str] = set()
    taken, owed = 0, 0
    for row in books.rows:
        purchase = index.purchase_of(row)
        if purchase is not None:
            claimed.add(purchase.user_offer_id)
        if row.settling:
            continue
        refunds = index.refunds(row.refund_key, str(row.order_id), REFUND_REFERENCE)
        drift += _row_drift(row, purchase, refunds)
        owed += row.points if row.stands else 0
        taken += _net(purchase, refunds)
    for purchase in books.purchases:
        if purchase.user_offer_id in claimed:
            continue
        key = orphan_refund_key(books.app, purchase.user_offer_id)
        refunds = index.refunds(key, purchase.user_offer_id, None)
        drift += _orphan_drift(books.customer_id, purchase, refunds, key)
        taken += _net(purchase, refunds)
    if taken != owed:
        drift.append(
            Drift(
                DriftKind.BALANCE_MISMATCH,
                customer_id=books.customer_id,
                points=taken - owed,
                repair=Repair.FOLLOWS,
            )
        )
    return drift


def _net(purchase: UpstreamPurchase | None, refunds: list[Deposit]) -> int:
    """Points a purchase took, less its refunds (a refund with no purchase is not counted)."""
    return 0 if purchase is None else purchase.points - sum(d.amount for d in refunds)


class _Index:
    """One customer's purchases and deposits, looked up by the ids that link them to rows."""

    def __init__(self, books: CustomerBooks) -> None:
        self._purchases: dict[str, UpstreamPurchase] = {}
        for purchase in reversed(books.purchases):  # the first one wins
            self._purchases[purchase.user_offer_id] = purchase
            if purchase.idempotency_id is not None:
                self._purchases[purchase.idempotency_id] = purchase
        self._by_key: dict[str, list[Deposit]] = defaultdict(list)
        self._by_reference: dict[str, list[Deposit]] = defaultdict(list)
        for deposit in books.deposits:
            if deposit.idempotency_id is not None:
                self._by_key[deposit.idempotency_id].append(deposit)
            if deposit.reference_id is not None:
                self._by_reference[deposit.reference_id].append(deposit)

    def purchase_of(self, row: LedgerRow) -> UpstreamPurchase | None:
        """The purchase with the row's idempotency id, or the row's recorded user_offer_id."""
        found = self._purchases.get(row.purchase_key)
        if found is None and row.backend_ref is not None:
            found = self._purchases.get(row.backend_ref)
        return found

    def refunds(self, key: str, reference: str, reference_type: str | None) -> list[Deposit]:
        """Deposits with idempotency id `key`, or naming `reference` (as `reference_type`,
        when given); each once, in the history's order."""
        named = [
            deposit
            for deposit in self._by_reference.get(reference, ())
            if reference_type is None or deposit.reference_type == reference_type
        ]
        found = {id(deposit): deposit for deposit in (*self._by_key.get(key, ()), *named)}
        return sorted(found.values(), key=lambda deposit: deposit.at)


def _row_drift(
    row: LedgerRow, purchase: UpstreamPurchase | None, refunds: list[Deposit]
) -> list[Drift]:
    about = Drift(
        DriftKind.BALANCE_MISMATCH,
        customer_id=row.customer_id,
        points=row.points,
        repair=Repair.FOLLOWS,
        order_id=row.order_id,
        status=row.status,
        user_offer_id=purchase.user_offer_id if purchase else row.backend_ref,
        refund_key=row.refund_key,
        refund_reference=str(row.order_id),
    )
    if row.abandoned:
        return [replace(about, kind=DriftKind.OUTCOME_UNKNOWN, repair=Repair.UNDO_UNKNOWN)]
    if row.stands:
        if purchase is None or not purchase.standing:
            # a revoked purchase took the points: they come back with the row's refund
            lost = replace(about, kind=DriftKind.ORDER_WITHOUT_PURCHASE, repair=Repair.VOID)
            return [lost, *_refunds_due(about, purchase, refunds)]
        return _unexpected(about, refunds)
    if purchase is None:
        return _unexpected(about, refunds)
    return _undo_or_refund(about, purchase, refunds)


def _orphan_drift(
    customer_id: str, purchase: UpstreamPurchase, refunds: list[Deposit], key: str
) -> list[Drift]:
    about = Drift(
        DriftKind.BALANCE_MISMATCH,
        customer_id=customer_id,
        points=purchase.points,
        repair=Repair.FOLLOWS,
        user_offer_id=purchase.user_offer_id,
        refund_key=key,
        refund_reference=purchase.user_offer_id,
    )
    return _undo_or_refund(about, purchase, refunds)


def _undo_or_refund(
    about: Drift, purchase: UpstreamPurchase, refunds: list[Deposit]
) -> list[Drift]:
    """A purchase no order stands for is undone: revoked, and refunded exactly once."""
    if purchase.standing:
        repair = Repair.REVOKE if refunds else Repair.UNDO_PURCHASE
        return [replace(about, kind=DriftKind.PURCHASE_WITHOUT_ORDER, repair=repair)]
    return _refunds_due(about, purchase, refunds)


def _refunds_due(
    about: Drift, purchase: UpstreamPurchase | None, refunds: list[Deposit]
) -> list[Drift]:
    """A revoked purchase is refunded exactly once; a purchase that never was, never."""
    if purchase is None:
        return _unexpected(about, refunds)
    if not refunds:
        return [replace(about, kind=DriftKind.REFUND_MISSING, repair=Repair.REFUND)]
    if len(refunds) > 1:
        extra = sum(d.amount for d in refunds[1:])
        return [replace(about, kind=DriftKind.REFUND_DOUBLED, points=extra, repair=Repair.MANUAL)]
    return []


def _unexpected(about: Drift, refunds: list[Deposit]) -> list[Drift]:
    """A refund for a purchase that stands, or that never was."""
    if not refunds:
        return []
    points = sum(d.amount for d in refunds)
    return [replace(about, kind=DriftKind.REFUND_UNEXPECTED, points=points, repair=Repair.MANUAL)]
