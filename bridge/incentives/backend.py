"""IncentivesBackend: the legacy order rules served by the Incentives APIs.

Each method is one or two mapping modules (mappings/incentives/) applied around one call of
the HTTP client. What the Incentives side has no home for stays in the bridge's ledger.

What the client is told is what happened (docs/reliability.md). A purchase:
1. its ledger row is written first, unknown (no `backend_ref`, never listed), together with
   its `undo_purchase` job, due once the call is surely over (bridge/store/remote_orders.py);
2. purchase_offer carries an idempotency id derived from that row;
3. an answer confirms the row and cancels the undo (ok); a refusal, or a failure known to
   have happened before the request left (refused connection, DNS, breaker open, 429),
   deletes it (the error; nothing was spent);
4. an answer lost after the request left (reset, timeout, 5xx, unreadable body) is settled
   inside the call: the customer's wallet is read once for the idempotency id. Found: the row
   is confirmed and the answer is ok. Not found or unreadable: the answer is `not_available`;
   without an Idempotency-Key the row is voided and its undo due after the in-flight window;
   with one the row stays unknown until the key expires (a retry of the key settles it: the
   wallet, else the purchase again with the same idempotency id) and the undo is due then.
The bridge never sends a purchase again on its own: only a retry of the same key does.
The undo itself (look again; revoke and refund what landed) is bridge/orders/compensation.py.

A rejection revokes, then refunds (idempotent per order), then records it. A revoke certainly
not sent leaves the order as it was; one whose answer was lost, or a refund that could not be
made, is completed by a `finish_reject` job after the in-flight window: revoked -> refunded and
rejected; still in the wallet -> the order stays as it was. The job is never cancelled by a
later attempt that failed: an earlier attempt's revoke may have landed.

An approved order is fulfilled durably: the `manual_redeem` is queued in the outbox in the
transaction that approves the order (or confirms an order approved at once), tried at once,
and, when that fails, retried by the outbox sender with backoff (`fulfil`, idempotent per
user_offer_id upstream). Meanwhile the order stays `approved`; when the sender gives up, it
becomes `redemption_error` (`give_up_fulfilment`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import structlog

from bridge.canonical import Customer, CustomerRef, Offer, Order, Purchase
from bridge.clock import Clock
from bridge.errors import BridgeError, RuleError, UnknownOrder, UnknownUpstreamReward, UpstreamError
from bridge.incentives.client import UpstreamClient, known_not_sent
from bridge.incentives.tenant import Tenant
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig
from bridge.store.idempotency import held_claim
from bridge.store.remote_orders import RemoteOrders
from mappings.incentives.errors import UPSTREAM_DOWN

log = structlog.get_logger()

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0b8c52-3f0e-4a55-9a53-0b4c1c1e7a10")


def idempotency_id(order: Order, purpose: str) -> str:
    """A stable id for one upstream write of one ledger order (`purchase`, `refund`)."""
    return write_id(order.app, order.id, order.created_at, purpose)


def write_id(app: str, order_id: int, created_at: datetime, purpose: str) -> str:
    """A stable id for one upstream write of one ledger row (`purchase`, `refund`).

    The creation time (to the second, in UTC: every store keeps that exactly) is part of it,
    so a ledger that was reset and numbers its orders from 1 again cannot replay old ids.
    There is one `refund` per row, whatever asks for it (a rejection, an undo): the upstream
    applies it at most once.
    """
    created = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{app}:{order_id}:{created}:{purpose}"
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

    def tenant(self, app: str) -> Tenant | None:
        """The app's tenant, None for an app not (or no longer) on this backend."""
        return self._tenants.get(app)

    def _tenant(self, app: str) -> Tenant:
        return self._tenants[app]

    async def resolve_customer(self, app: str, ref: CustomerRef) -> Customer | None:
        """The Core lookup (cached)."""
        return await self._tenant(app).customer(ref)

    async def customer_and_offer(
        self, app: str, ref: CustomerRef, offer_id: int
    ) -> tuple[Customer | None, Offer | None]:
        """The customer, then the offer only for a registered one (two calls of their own)."""
        customer = await self.resolve_customer(app, ref)
        if customer is None or not customer.registered:
            return customer, None
        return customer, await self._tenant(app).offer(offer_id, self._clock.now())

    async def purchase(self, purchase: Purchase) -> Order:
        """Place the purchase; ok only once it stands upstream (see the module docstring)."""
        tenant = self._tenant(purchase.app)
        undo_at = purchase.created_at + call_window(tenant, calls=2)
        order = await self._orders.open(purchase, undo_at)
        try:
            result = await tenant.purchase(order, idempotency_id(order, "purchase"))
        except (RuleError, UpstreamError) as exc:
            if known_not_sent(exc):
                await self._orders.discard(order, self._clock.now())
                self._settled("refused" if isinstance(exc, RuleError) else "not_sent")
                raise
            log.warning("purchase_outcome_lost", app=order.app, order_id=order.id)
            ref = await self._look(tenant, order)
            if ref is None:
                await self._leave_unknown(tenant, order)
                raise UpstreamError(UPSTREAM_DOWN, tenant.client.base_url) from exc
            await self._confirm(tenant, order, ref, "found")
            return order
        await self._confirm(tenant, order, result.user_offer_id, "placed")
        return order.model_copy(update={"available_points": result.points_remaining})

    async def _look(self, tenant: Tenant, order: Order) -> str | None:
        """The purchase's user_offer_id from the wallet, within one call's timeout; None when
        it is not there or cannot be read now."""
        key = idempotency_id(order, "purchase")
        try:
            async with asyncio.timeout(tenant.config.total_timeout_seconds):
                return await tenant.find_in_wallet(order.customer_id, key)
        except (BridgeError, TimeoutError):
            log.warning("purchase_left_unknown", app=order.app, order_id=order.id)
            return None

    async def _confirm(self, tenant: Tenant, order: Order, ref: str, outcome: str) -> None:
        """Record the purchase (its undo cancelled); not_available if its undo won the race."""
        confirmed, fulfilment = await self._orders.confirm(
            order, ref, self._clock.now(), _grace(tenant)
        )
        if not confirmed:
            self._settled("lost_race")
            await self._undo_landed(tenant, order, ref)
            raise UpstreamError(UPSTREAM_DOWN, tenant.client.base_url)
        self._settled(outcome)
        if outcome == "found":
            log.info("purchase_reconciled", app=order.app, order_id=order.id, via="wallet")
        await self._fulfil_now(tenant, order, ref, fulfilment)

    async def _undo_landed(self, tenant: Tenant, order: Order, ref: str) -> None:
        """A purchase in hand whose row was voided first: it landed after the undo looked (a
        keyed retry sent it as the key expired, a confirm slower than the in-flight window),
        so nothing else will undo it. Its reference is kept on the voided row, then it is
        revoked and refunded (the row's one `refund` id: an undo still running does no harm).
        If that fails now, `orders-bridge reconcile --repair` finds the voided row's purchase.
        A row another confirm made an order first (two retries of one key) is that order:
        nothing to undo."""
        row = await self._orders.purchased(order.id)
        if row is None or not row.voided:
            return
        await self._orders.record_found(order.id, ref, self._clock.now())
        try:
            await tenant.revoke(ref)
            await self.refund(tenant, order.app, order.id, order.customer_id, order.points)
        except BridgeError as exc:
            log.error(
                "lost_race_undo_failed", app=order.app, order_id=order.id, code=exc.code.value
            )
            return
        log.warning("lost_race_undone", app=order.app, order_id=order.id, points=order.points)

    async def _leave_unknown(self, tenant: Tenant, order: Order) -> None:
        """The call answers not_available: without a key the row is voided and undone after the
        in-flight window; with one it waits, unknown, for a retry until the key expires."""
        now = self._clock.now()
        undo_at = now + call_window(tenant)
        claim = held_claim()
        if claim is None:
            await self._orders.give_up(order, now, undo_at)
            self._settled("undo_queued")
        else:
            await self._orders.postpone(order, max(undo_at, claim.expires_at))
            self._settled("left_unknown")
        log.warning("purchase_undo_queued", app=order.app, order_id=order.id, keyed=bool(claim))

    async def approve(self, order: Order, now: datetime) -> Order:
        """Approve in the ledger with the fulfilment queued, then try the fulfilment at once."""
        tenant = self._tenant(order.app)
        ref = await self._ref(order)
        updated, fulfilment = await self._orders.approve(order, now, _grace(tenant))
        await self._fulfil_now(tenant, order, ref, fulfilment)
        return updated

    async def reject(self, order: Order, now: datetime) -> Order:
        """Revoke the reward, then refund the points (both idempotent), then record it.

        The `finish_reject` job is queued first: if the revoke's answer is lost, or the refund
        cannot be made now, it completes the rejection (or finds nothing revoked) later. A
        revoke known not sent leaves the job queued too: it finds the offer still in the wallet
        (nothing to do) unless an earlier attempt's revoke landed, which it then completes.
        """
        tenant = self._tenant(order.app)
        ref = await self._ref(order)
        await self._orders.begin_reject(order, now, now + call_window(tenant, calls=3))
        try:
            await tenant.revoke(ref)
        except (RuleError, UpstreamError) as exc:
            if known_not_sent(exc):  # this revoke did nothing; an earlier attempt's may have
                raise  # landed, so every queued finish_reject stays: each looks in the wallet
            log.warning("reject_outcome_lost", app=order.app, order_id=order.id)
            raise UpstreamError(UPSTREAM_DOWN, tenant.client.base_url) from exc
        await self.refund(tenant, order.app, order.id, order.customer_id, order.points)
        return await self._orders.reject(order, now)

    async def refund(
        self, tenant: Tenant, app: str, order_id: int, customer_id: str, points: int
    ) -> None:
        """Give a revoked order's points back: the one deposit of its `refund` id, sent again
        once if its answer was lost (the upstream applies an id once)."""
        purchased = await self._orders.purchased(order_id)
        if purchased is None:
            raise UnknownOrder(order_id)
        key = write_id(app, order_id, purchased.created_at, "refund")
        try:
            await tenant.refund(customer_id, points, order_id, key)
        except UpstreamError:
            log.warning("refund_outcome_lost", app=app, order_id=order_id, retry="now")
            await tenant.refund(customer_id, points, order_id, key)

    async def balance(self, customer: Customer) -> int | None:
        return await self._tenant(customer.app).balance(customer.id)

    async def _ref(self, order: Order) -> str:
        """A listed order's user_offer_id (only confirmed rows are shown, so it has one)."""
        ref = await self._orders.backend_ref(order.id)
        if ref is None:
            raise UnknownOrder(order.id)
        return ref

    async def settle(self, order: Order) -> Order | None:
        """A retry of an Idempotency-Key whose order was left unknown: the client asks again.

        The wallet first; if the purchase is not there, it is sent again with the same
        idempotency id (the upstream applies it once). The order once confirmed; None while
        the outcome is still unknown (the undo stays due at the key's expiry); a refusal
        deletes the row and is raised.
        """
        if await self._orders.backend_ref(order.id) is not None:
            return order
        tenant = self._tenant(order.app)
        ref, outcome = await self._look(tenant, order), "found"
        if ref is None:
            outcome = "placed"
            try:
                ref = (
                    await tenant.purchase(order, idempotency_id(order, "purchase"))
                ).user_offer_id
            except RuleError:
                await self._orders.discard(order, self._clock.now())
                self._settled("refused")
                raise
            except UpstreamError:
                self._settled("left_unknown")
                return None
        try:
            await self._confirm(tenant, order, ref, outcome)
        except UpstreamError:
            return None
        return order

    async def fulfil(self, app: str, order_id: int) -> None:
        """One retry of a queued `manual_redeem` (the outbox sender's); raises when it failed.

        RuleError means it can never succeed (an unknown app or order, a refusal upstream);
        UpstreamError, that it may on a later attempt.
        """
        tenant = self._tenants.get(app)
        ref = await self._orders.backend_ref(order_id)
        if tenant is None or ref is None:
            raise UnknownUpstreamReward()
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
            self._metrics.redemption_counts(result).inc()

    def _settled(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.settlement_counts(outcome).inc()


def _grace(tenant: Tenant) -> timedelta:
    """How long the queued fulfilment waits for the inline attempt: one call's timeout (a
    redeem is idempotent: a late one does no harm)."""
    return timedelta(seconds=tenant.config.total_timeout_seconds)


def call_window(tenant: Tenant, calls: int = 1) -> timedelta:
    """How long until `calls` calls are surely over and a write they sent has landed or never
    will: their timeouts plus the configured in-flight margin."""
    config = tenant.config
    return timedelta(seconds=calls * config.total_timeout_seconds + config.in_flight_margin_seconds)
