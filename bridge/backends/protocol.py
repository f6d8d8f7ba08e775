"""The narrow seam between the order service and whatever really holds points and rewards."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bridge.canonical import Customer, CustomerRef, Offer, Order, Purchase


class Backend(Protocol):
    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        """The customer a legacy route names, or None when there is no such customer."""

    async def get_offer(self, app: str, offer_id: int) -> Offer | None:
        """The reward behind a legacy offer id, or None when unknown."""

    async def purchase(self, purchase: Purchase) -> Order:
        """Spend the points, take the stock and record the order, all or nothing."""

    async def approve(self, order: Order, now: datetime) -> Order:
        """Fulfil a reviewed order."""

    async def reject(self, order: Order, now: datetime) -> Order:
        """Revoke an order: refund its points and put its stock back."""

    async def balance(self, customer: Customer) -> int:
        """The customer's available points."""
