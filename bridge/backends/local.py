"""The local order engine: customers, points and rewards in the bridge's own store."""

from __future__ import annotations

from datetime import datetime

from bridge.canonical import Customer, CustomerRef, Offer, Order, Purchase
from bridge.store.catalog import Catalog
from bridge.store.local_engine import LocalEngineStore


class LocalBackend:
    def __init__(self, catalog: Catalog, engine_store: LocalEngineStore) -> None:
        self._catalog = catalog
        self._store = engine_store

    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        if ref.user_id is not None:
            return await self._catalog.customer(app, ref.user_id)
        return await self._catalog.customer_by_external_id(app, ref.external_id or "")

    async def customer_and_offer(
        self, app: str, ref: CustomerRef, offer_id: int
    ) -> tuple[Customer | None, Offer | None]:
        """Both read together (one statement of the catalog)."""
        return await self._catalog.customer_and_offer(app, ref, offer_id)

    async def purchase(self, purchase: Purchase) -> Order:
        return await self._store.place(purchase)

    async def approve(self, order: Order, now: datetime) -> Order:
        return await self._store.approve(order, now)

    async def reject(self, order: Order, now: datetime) -> Order:
        return await self._store.reject(order, now)

    async def balance(self, customer: Customer) -> int:
        return await self._catalog.balance(customer.app, customer.id)

    async def settle(self, order: Order) -> Order | None:
        """A local order is committed with its outcome: always known."""
        return order
