"""Books reconciliation: one customer's ledger rows against the upstream's facts (pure).

`compare` takes what the ledger says (the app's rows on the Incentives target) and what the
upstream says (purchases from the points history and wallet, deposits from the points history)
and returns the drift between them, each record with the repair that undoes it. No I/O here:
bridge/reconcile_commands.py reads both sides, applies the repairs and reports
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

A refund belongs to a row when it carries the row's refund idempotency id, or names the row's
legacy order id as a `legacy_order_refund`; to a purchase no row stands for, when it carries
`orphan_refund_key` of the purchase or names its user_offer_id.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
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


class Repair(enum.StrEnum):
    VOID = "void"
    UNDO_PURCHASE = "revoke_and_refund"
    REVOKE = "revoke"
    REFUND = "refund"
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

    @property
    def stands(self) -> bool:
        return self.status in STANDING and self.backend_ref is not None

    @property
    def settling(self) -> bool:
        """The bridge's own settling owns it: its outcome is not recorded yet, or one of its
        compensations is still queued."""
        return self.compensating or (self.backend_ref is None and self.status not in UNDONE)


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
    """Every drift between one customer's ledger rows and upstream facts, in a stable order."""
    drift: list[Drift] = []
    claimed: dict[str, LedgerRow] = {}
    for row in books.rows:
        purchase = _purchase_of(row, books.purchases)
        if purchase is not None:
            claimed[purchase.user_offer_id] = row
        if row.settling:
            continue
        refunds = [d for d in books.deposits if _refunds_row(d, row)]
        drift += _row_drift(row, purchase, refunds)
    orphans = [p for p in books.purchases if p.user_offer_id not in claimed]
    for purchase in orphans:
        key = orphan_refund_key(books.app, purchase.user_offer_id)
        refunds = [d for d in books.deposits if _refunds_orphan(d, purchase, key)]
        drift += _orphan_drift(books.customer_id, purchase, refunds, key)
    mismatch = _balance(books, claimed, orphans)
    return drift + ([mismatch] if mismatch else [])


def _purchase_of(row: LedgerRow, purchases: Sequence[UpstreamPurchase]) -> UpstreamPurchase | None:
    for purchase in purchases:
        if purchase.idempotency_id == row.purchase_key or (
            row.backend_ref is not None and purchase.user_offer_id == row.backend_ref
        ):
            return purchase
    return None


def _refunds_row(deposit: Deposit, row: LedgerRow) -> bool:
    if deposit.idempotency_id == row.refund_key:
        return True
    named = deposit.reference_type == REFUND_REFERENCE
    return named and deposit.reference_id == str(row.order_id)


def _refunds_orphan(deposit: Deposit, purchase: UpstreamPurchase, key: str) -> bool:
    return deposit.idempotency_id == key or deposit.reference_id == purchase.user_offer_id


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


def _balance(
    books: CustomerBooks, claimed: dict[str, LedgerRow], orphans: list[UpstreamPurchase]
) -> Drift | None:
    """Points the upstream took (debits less their refunds) against what standing rows cost."""
    owed = sum(row.points for row in books.rows if row.stands and not row.settling)
    counted = [p for p in books.purchases if p.user_offer_id in claimed] + orphans
    counted = [p for p in counted if not _settling(claimed.get(p.user_offer_id))]
    taken = sum(p.points for p in counted)
    for deposit in books.deposits:
        if _refunds_any(deposit, books, claimed, counted):
            taken -= deposit.amount
    if taken == owed:
        return None
    return Drift(
        DriftKind.BALANCE_MISMATCH,
        customer_id=books.customer_id,
        points=taken - owed,
        repair=Repair.FOLLOWS,
    )


def _settling(row: LedgerRow | None) -> bool:
    return row is not None and row.settling


def _refunds_any(
    deposit: Deposit,
    books: CustomerBooks,
    claimed: dict[str, LedgerRow],
    counted: list[UpstreamPurchase],
) -> bool:
    for purchase in counted:
        row = claimed.get(purchase.user_offer_id)
        if row is not None and _refunds_row(deposit, row):
            return True
        key = orphan_refund_key(books.app, purchase.user_offer_id)
        if row is None and _refunds_orphan(deposit, purchase, key):
            return True
    return False
