"""IncentivesBackend: the legacy order rules served by the Incentives APIs.

Each method is one or two mapping modules (mappings/incentives/) applied around one call of
the HTTP client. What the Incentives side has no home for stays in the bridge's ledger.

A purchase never spends twice and is never guessed:
1. the ledger row is written first, in the "unknown upstream" state (no `backend_ref`);
2. purchase_offer carries an idempotency id derived from that row;
3. the answer confirms the row (`backend_ref` = `user_offer_id`), or a refusal discards it;
4. when the answer is lost (timeout, dropped connection, 5xx), the reconciler looks for the
   purchase in the customer's wallet (get_user_offers, matched by idempotency id); if it is not
   there, the purchase is sent again with the same idempotency id, which the upstream applies at
   most once. If the upstream still cannot be reached, the row stays unknown, the caller gets
   `not_available`, and the next call naming the customer settles it first.

An approved order is fulfilled durably: the `manual_redeem` is queued in the outbox in the
transaction that approves the order (or confirms an order approved at once), tried at once,
and, when that fails, retried by the outbox sender with backoff (`fulfil`, idempotent per
user_offer_id upstream). Meanwhile the order stays `approved`; when the sender gives up, it
becomes `redemption_error` (`give_up_fulfilment`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog

from bridge.backends.incentives_client import UpstreamClient
from bridge.backends.incentives_tenant import Tenant
from bridge.canonical import Customer, CustomerRef, ErrorCode, Offer, Order, Purchase
from bridge.clock import Clock
from bridge.errors import RuleError, UpstreamError
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig
from bridge.store.idempotency import KeyClaim
from bridge.store.remote_orders import RemoteOrders
from mappings.incentives.errors import UPSTREAM_DOWN

log = structlog.get_logger()

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0b8c52-3f0e-4a55-9a53-0b4c1c1e7a10")


def idempotency_id(order: Order, purpose: str) -> str:
    """A stable id for one upstream write of one ledger order (`purchase`, `refund`).

    The creation time (to the second, in UTC: every store keeps that exactly) is part of it,
    so a ledger that was reset and numbers its orders from 1 again cannot replay old ids.
    """
    created = order.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{order.app}:{order.id}:{created}:{purpose}"
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, name))


class IncentivesBackend:
    def __init__(
        self,
        tenants: Sequence[Tenant],
        orders: RemoteOrders,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self._tenants = {tenant.app: tenant for tenant in tenants}
        self._orders = orders
        self._clock = clock
        self._metrics = metrics

    @classmethod
    def build(
        cls,
        apps: Sequence[AppConfig],
        orders: RemoteOrders,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> IncentivesBackend | None:
        """One tenant per app with an `incentives` block; None when no app has one."""
        tenants = Tenant.build_all(apps, clock, metrics)
        return cls(tenants, orders, clock, metrics) if tenants else None

    def _clients(self) -> list[UpstreamClient]:
        """Each upstream once, however many apps share it."""
        clients = {}
        for tenant in self._tenants.values():
            clients[id(tenant.client)] = tenant.client
            clients[id(tenant.core_client)] = tenant.core_client
        return list(clients.values())

    async def open(self) -> None:
        for client in self._clients():
            await client.open()

    async def close(self) -> None:
        for client in self._clients():
            await client.close()

    def _tenant(self, app: str) -> Tenant:
        return self._tenants[app]

    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        """The Core lookup (cached); the customer's unsettled purchases are settled first."""
        tenant = self._tenant(app)
        customer = await tenant.customer(ref)
        if customer is not None:
            await self._settle_customer(tenant, customer)
        return customer

    async def get_offer(self, app: str, offer_id: int) -> Offer | None:
        return await self._tenant(app).offer(offer_id, self._clock.now())

    async def purchase(self, purchase: Purchase, claim: KeyClaim | None = None) -> Order:
        tenant = self._tenant(purchase.app)
        order = await self._orders.open(purchase, claim)
        try:
            ref = await self._place(tenant, order)
        except RuleError:
            await self._orders.discard(order)
            raise
        if ref is None:
            raise UpstreamError(UPSTREAM_DOWN, tenant.client.base_url)
        fulfilment = await self._orders.confirm(
            order, ref, purchase.created_at, claim, _grace(tenant)
        )
        await self._fulfil_now(tenant, order, ref, fulfilment)
        return order

    async def approve(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Approve in the ledger with the fulfilment queued, then try the fulfilment at once."""
        tenant = self._tenant(order.app)
        ref = await self._settled_ref(tenant, order)
        updated, fulfilment = await self._orders.approve(order, now, claim, _grace(tenant))
        await self._fulfil_now(tenant, order, ref, fulfilment)
        return updated

    async def reject(self, order: Order, now: datetime, claim: KeyClaim | None = None) -> Order:
        """Revoke the reward, then refund the points (both idempotent), then record it."""
        tenant = self._tenant(order.app)
        await tenant.revoke(await self._settled_ref(tenant, order))
        await tenant.refund(order, idempotency_id(order, "refund"))
        return await self._orders.reject(order, now, claim)

    async def balance(self, customer: Customer) -> int:
        return await self._tenant(customer.app).balance(customer.id)

    async def _place(self, tenant: Tenant, order: Order) -> str | None:
        """The purchase's user_offer_id; None when its outcome is still unknown."""
        try:
            return await tenant.purchase(order, idempotency_id(order, "purchase"))
        except RuleError:
            raise
        except UpstreamError:
            log.warning("purchase_outcome_lost", app=order.app, order_id=order.id)
        return await self._settle(tenant, order)

    async def _settle(self, tenant: Tenant, order: Order) -> str | None:
        """Find a purchase in the wallet, else send it again (same idempotency id)."""
        key = idempotency_id(order, "purchase")
        try:
            found = await tenant.find_in_wallet(order.customer_id, key)
            if found is not None:
                log.info("purchase_reconciled", app=order.app, order_id=order.id, via="wallet")
                return found
            ref = await tenant.purchase(order, key)
        except RuleError:
            raise
        except UpstreamError:
            log.warning("purchase_left_unknown", app=order.app, order_id=order.id)
            return None
        log.info("purchase_reconciled", app=order.app, order_id=order.id, via="resend")
        return ref

    async def _settle_customer(self, tenant: Tenant, customer: Customer) -> None:
        """Settle this customer's purchases left unknown by an earlier call.

        Rows younger than one call timeout may belong to a purchase still in flight; they are
        left to that call.
        """
        cutoff = self._clock.now() - timedelta(seconds=tenant.config.total_timeout_seconds)
        for order in await self._orders.unknown(customer.app, customer.id, cutoff):
            if order.created_at > cutoff:
                continue
            try:
                ref = await self._settle(tenant, order)
            except RuleError:
                await self._orders.discard(order)
                continue
            if ref is not None:
                fulfilment = await self._orders.confirm(
                    order, ref, self._clock.now(), None, _grace(tenant)
                )
                await self._fulfil_now(tenant, order, ref, fulfilment)

    async def _settled_ref(self, tenant: Tenant, order: Order) -> str:
        """The order's user_offer_id, settling an unknown purchase first."""
        ref = await self._orders.backend_ref(order.id)
        if ref is not None:
            return ref
        ref = await self._settle(tenant, order)
        if ref is None:
            raise UpstreamError(UPSTREAM_DOWN, tenant.client.base_url)
        await self._orders.confirm(order, ref, self._clock.now(), None)
        return ref

    async def settle(self, order: Order) -> Order | None:
        """The order once its purchase is confirmed (settling it now if it was left unknown).

        None while the upstream still cannot tell; a refusal discards the row and is raised.
        """
        if await self._orders.backend_ref(order.id) is not None:
            return order
        tenant = self._tenant(order.app)
        try:
            ref = await self._settle(tenant, order)
        except RuleError:
            await self._orders.discard(order)
            raise
        if ref is None:
            return None
        fulfilment = await self._orders.confirm(order, ref, self._clock.now(), None, _grace(tenant))
        await self._fulfil_now(tenant, order, ref, fulfilment)
        return order

    async def fulfil(self, app: str, order_id: int) -> None:
        """One retry of a queued `manual_redeem` (the outbox sender's); raises when it failed.

        RuleError means it can never succeed (an unknown app or order, a refusal upstream);
        UpstreamError, that it may on a later attempt.
        """
        tenant = self._tenants.get(app)
        ref = await self._orders.backend_ref(order_id)
        if tenant is None or ref is None:
            raise RuleError(ErrorCode.NOT_FOUND, "The order has no reward upstream to redeem.")
        await tenant.redeem(ref)

    async def give_up_fulfilment(self, app: str, order_id: int) -> bool:
        """Retries are exhausted: the order becomes `redemption_error`; whether it moved."""
        return await self._orders.fail_redemption(app, order_id, self._clock.now())

    async def _fulfil_now(
        self, tenant: Tenant, order: Order, ref: str, fulfilment: int | None
    ) -> None:
        """The first `manual_redeem` of a just-approved order; on failure the outbox retries."""
        if fulfilment is None:
            return
        try:
            await tenant.redeem(ref)
        except (RuleError, UpstreamError) as exc:
            self._count("retry")
            log.warning(
                "upstream_redeem_failed",
                app=order.app,
                order_id=order.id,
                code=exc.code.value,
                retry="queued",
            )
            return
        self._count("redeemed")
        await self._orders.fulfilled(fulfilment, self._clock.now())

    def _count(self, result: str) -> None:
        if self._metrics is not None:
            self._metrics.redemptions.labels(result=result).inc()


def _grace(tenant: Tenant) -> timedelta:
    """How long the queued fulfilment waits for the inline attempt: one call's timeout."""
    return timedelta(seconds=tenant.config.total_timeout_seconds)
