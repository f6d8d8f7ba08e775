"""The narrow seam between the order service and whatever really holds points and rewards.

A keyed write (`purchase`, `approve`, `reject`) runs inside `holding(claim)`
(bridge/store/idempotency.py): its units of work hold the idempotency claim, and a backend
must have taken the key (`take_key` in a unit of its write) by the time its write is
durable: the local engine in the write's own transaction; a remote backend in the unit that
records the call before it goes out (docs/idempotency.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bridge.canonical import Customer, CustomerRef, Offer, Order, Purchase


class Backend(Protocol):
    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        """The customer a legacy route names, or None when there is no such customer."""

    async def customer_and_offer(
        self, app: str, ref: CustomerRef, offer_id: int
    ) -> tuple[Customer | None, Offer | None]:
        """The customer a create names and the reward behind its legacy offer id (None when
        unknown), read together where the backend can (the local engine: one statement). The
        offer may be left unread (None) when the customer is unknown or unregistered: that
        create is refused before the offer matters."""

    async def purchase(self, purchase: Purchase) -> Order:
        """Spend the points, take the stock and record the order, all or nothing."""

    async def approve(self, order: Order, now: datetime) -> Order:
        """Fulfil a reviewed order."""

    async def reject(self, order: Order, now: datetime) -> Order:
        """Revoke an order: refund its points and put its stock back."""

    async def balance(self, customer: Customer) -> int | None:
        """The customer's available points now; None when they cannot be read now (never an
        older number passed off as current)."""

    async def settle(self, order: Order) -> Order | None:
        """The ledger order once its outcome is known; None while it is still unknown.

        Raises the refusal when settling finds the write was refused (nothing was spent).
        """
