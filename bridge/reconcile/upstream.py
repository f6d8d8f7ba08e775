"""`reconcile`'s upstream reads: one customer's facts, through the mapping modules
(docs/reconcile.md).

Purchases come from the points history (a purchase's debit names its user_offer_id and its
idempotency id, and stays there when the purchase is revoked); a purchase stands when the
wallet still holds it. Deposits are the history's credits.
"""

from __future__ import annotations

from datetime import datetime

from bridge.canonical import ErrorCode
from bridge.errors import RuleError
from bridge.incentives.tenant import Tenant
from bridge.reconcile.books import Deposit, UpstreamPurchase
from mappings.incentives import point_audit_logs, user_offers


async def read_facts(
    tenant: Tenant, user_id: str, since: datetime | None
) -> tuple[list[UpstreamPurchase], list[Deposit]]:
    """The customer's purchases and deposits since `since`; none for a customer the upstream
    does not know."""
    try:
        wallet: list[user_offers.WalletEntry] = await tenant.every_entry(
            user_offers.CALL, user_offers.PAGE_SIZE, user_id=user_id
        )
        history: list[point_audit_logs.PointEntry] = await tenant.every_entry(
            point_audit_logs.CALL, point_audit_logs.PAGE_SIZE, user_id=user_id
        )
    except RuleError as exc:
        if exc.code in (ErrorCode.USER_NOT_FOUND, ErrorCode.NOT_FOUND):
            return [], []
        raise
    recent = [entry for entry in history if since is None or entry.at >= since]
    return _purchases(recent, wallet), _deposits(recent)


def _purchases(
    history: list[point_audit_logs.PointEntry], wallet: list[user_offers.WalletEntry]
) -> list[UpstreamPurchase]:
    standing = {entry.user_offer_id for entry in wallet}
    return [
        UpstreamPurchase(
            user_offer_id=entry.reference_id,
            idempotency_id=entry.idempotency_id,
            points=-entry.points,
            at=entry.at,
            standing=entry.reference_id in standing,
        )
        for entry in history
        if entry.reference_type == point_audit_logs.PURCHASE_REFERENCE
        and entry.reference_id is not None
        and entry.points < 0
    ]


def _deposits(history: list[point_audit_logs.PointEntry]) -> list[Deposit]:
    return [
        Deposit(
            amount=entry.points,
            idempotency_id=entry.idempotency_id,
            reference_type=entry.reference_type,
            reference_id=entry.reference_id,
            at=entry.at,
        )
        for entry in history
        if entry.points > 0
    ]
