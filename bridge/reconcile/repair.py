"""`reconcile --repair`: each drift's repair, idempotent (docs/reconcile.md).

- A voided row whose purchase stands is undone by the bridge's own compensation
  (`Compensation.undo_purchase`, bridge/orders/compensation.py): revoke, then the row's one
  refund.
- Any other purchase no order stands for (a rejected row's, or one the ledger never had) is
  revoked and refunded here, with the same stable ids: a row's `refund` id, or
  `orphan_refund_key` for a purchase with no row.
- A missing refund is deposited with that id; a row whose purchase does not stand is voided
  (only if it is still in the status it was read in).
- A row left unknown that nothing will settle gets the bridge's own undo too
  (`Compensation.undo_purchase`: voided, then whatever landed revoked and refunded).
Revoking a revoked reward is ok upstream and a deposit is applied once per idempotency id, so
a repair run twice, or interrupted and run again, changes nothing more.
"""

from __future__ import annotations

import structlog

from bridge.clock import Clock
from bridge.errors import RuleError, UpstreamError
from bridge.incentives.tenant import Tenant
from bridge.orders.compensation import Compensation
from bridge.orders.outbox_sender import UndeliverableError
from bridge.reconcile.books import Drift, Repair
from bridge.store.books import Books
from bridge.store.ledger import VOIDED

log = structlog.get_logger()

REPAIRED, UNCHANGED, FAILED = "repaired", "unchanged", "failed"


class Repairs:
    def __init__(
        self, books: Books, tenant: Tenant, compensation: Compensation, clock: Clock
    ) -> None:
        self._books = books
        self._tenant = tenant
        self._compensation = compensation
        self._clock = clock
        self._accounts: dict[str, str | None] = {}
        """Each customer's refund account (all_balances), read once per run."""

    async def apply(self, drift: Drift) -> str:
        """Repair one drift: `repaired`, `unchanged` (someone moved it meanwhile), `failed`, or
        the repair itself when it is no action (`manual`, `follows`)."""
        if drift.repair in (Repair.MANUAL, Repair.FOLLOWS):
            return drift.repair.value
        app = self._tenant.app
        try:
            moved = await self._apply(drift)
        except (RuleError, UpstreamError, UndeliverableError) as exc:
            log.warning("reconcile_repair_failed", app=app, kind=drift.kind.value, error=str(exc))
            return FAILED
        if not moved:
            return UNCHANGED
        log.info(
            "reconcile_repaired",
            app=app,
            kind=drift.kind.value,
            repair=drift.repair.value,
            order_id=drift.order_id,
            points=drift.points,
        )
        return REPAIRED

    async def _apply(self, drift: Drift) -> bool:
        if drift.repair is Repair.VOID:
            assert drift.order_id is not None
            assert drift.status is not None
            now = self._clock.now()
            return await self._books.void(self._tenant.app, drift.order_id, drift.status, now)
        if drift.repair is Repair.UNDO_UNKNOWN:
            assert drift.order_id is not None
            result = await self._compensation.undo_purchase(self._tenant.app, drift.order_id)
            return result in ("undone", "nothing_landed")  # either way the row is voided
        if drift.status == VOIDED and drift.repair is Repair.UNDO_PURCHASE:
            assert drift.order_id is not None
            result = await self._compensation.undo_purchase(self._tenant.app, drift.order_id)
            return result == "undone"
        if drift.repair in (Repair.UNDO_PURCHASE, Repair.REVOKE):
            assert drift.user_offer_id is not None
            await self._tenant.revoke(drift.user_offer_id)
        if drift.repair in (Repair.UNDO_PURCHASE, Repair.REFUND):
            await self._refund(drift)
        return True

    async def _refund(self, drift: Drift) -> None:
        """Deposit the drift's points with its stable refund id, naming what it refunds."""
        assert drift.refund_key is not None
        assert drift.refund_reference is not None
        account = await self._account(drift.customer_id)
        await self._tenant.deposit(
            drift.customer_id, drift.points, account, drift.refund_reference, drift.refund_key
        )

    async def _account(self, customer_id: str) -> str | None:
        """The customer's first point account, where a refund goes (as the bridge's own)."""
        if customer_id not in self._accounts:
            balances = await self._tenant.balances(customer_id)
            self._accounts[customer_id] = balances.point_account_id
        return self._accounts[customer_id]
