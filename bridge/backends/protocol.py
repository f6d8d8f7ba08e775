"""The narrow seam between the order service and whatever really holds points and rewards.

The writes (`purchase`, `approve`, `reject`) take an optional idempotency `KeyClaim`. A
backend must have recorded it (`bridge.store.idempotency`) by the time its write is durable:
the local engine inserts it in the write's own transaction; a remote backend records it
before it calls out (docs/idempotency.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bridge.canonical import Customer, CustomerRef, Offer, Order, Purchase
from bridge.store.idempotency import KeyClaim


class Backend(Protocol):
    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        """The customer a legacy route names, or None when there is no such customer."""

    async def get_offer(self, app: str, offer_id: int) -> Offer | None:
        """The reward behind a legacy offer id, or None when unknown."""

    async def purchase(self, purchase: Purchase, claim: KeyClaim | None = None) -> Order:
        """Spend the points, take the stock and record the order, all or nothing."""

    async def approve(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Fulfil a reviewed order."""

    async def reject(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Revoke an order: refund its points and put its stock back."""

    async def balance(self, customer: Customer) -> int | None:
        """The customer's available points now; None when they cannot be read now (never an
        older number passed off as current)."""

    async def settle(self, order: Order) -> Order | None:
        """The ledger order once its outcome is known; None while it is still unknown.

        Raises the refusal when settling finds the write was refused (nothing was spent).
        """
