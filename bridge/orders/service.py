"""The order service: the legacy Orders API's rules, whatever backend serves the call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bridge.backends.protocol import Backend
from bridge.canonical import (
    Customer,
    CustomerRef,
    Offer,
    Order,
    OrderFilter,
    OrderRef,
    OrderStatus,
    PlaceOrder,
    Purchase,
    ShippingAddress,
    Target,
    VelocityLimit,
)
from bridge.clock import Clock
from bridge.errors import (
    ChallengeRequired,
    InvalidStatusTransition,
    OfferInactive,
    UnknownCustomer,
    UnknownOffer,
    UnknownOrder,
    UnregisteredCustomer,
)
from bridge.orders import guards
from bridge.orders.address import validate_address
from bridge.orders.review import decide
from bridge.settings import AppConfig
from bridge.store.catalog import Catalog
from bridge.store.ledger import Ledger

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_APPROVAL: frozenset({OrderStatus.APPROVED, OrderStatus.REJECTED}),
}
"""Which status an order may move to from its current one; anything else is refused."""

CHALLENGE_COUNTRIES = frozenset({"CA"})


class OrderService:
    def __init__(
        self,
        backends: Mapping[Target, Backend],
        ledger: Ledger,
        catalog: Catalog,
        clock: Clock,
    ) -> None:
        self._backends = backends
        self._ledger = ledger
        self._catalog = catalog
        self._clock = clock

    async def create(self, app: AppConfig, command: PlaceOrder) -> Order:
        backend = self._backends[app.target]
        ref = command.customer
        customer, offer = await backend.customer_and_offer(app.name, ref, command.offer_id)
        customer = _registered(customer, ref)
        if offer is None:
            raise UnknownOffer(command.offer_id)
        if not offer.active:
            raise OfferInactive(offer.id)
        guards.check_quantity(app, command.quantity)
        ip = guards.check_ip(app, command.ip)
        address = self._shipping_address(offer, command.shipping_address)
        await self._check_challenge(app, customer, offer, command.challenge_id)
        now = self._clock.now()
        purchase = Purchase(
            app=app.name,
            customer=customer,
            offer=offer,
            quantity=command.quantity,
            points=offer.points * command.quantity,
            status=self._review(app, offer, command),
            email=command.email or customer.email,
            ip=ip,
            shipping_address=address,
            challenge_id=command.challenge_id,
            external_id=command.external_id,
            created_at=now,
            velocity=self._velocity(app, ip, now),
        )
        order = await backend.purchase(purchase)
        return await self._with_points(app, backend, customer, order)

    async def list(self, app: AppConfig, ref: CustomerRef, selection: OrderFilter) -> list[Order]:
        backend = self._backends[app.target]
        customer = await self._customer(backend, app, ref)
        orders = await self._ledger.list(app.name, customer.id, selection)
        if not app.enable_mpoints_info_in_users_api or not orders:
            return orders
        points = await backend.balance(customer)
        return [order.model_copy(update={"available_points": points}) for order in orders]

    async def locate(self, app: str, ref: OrderRef) -> Order | None:
        """The order `ref` names, read once per call: the cutover routes a get or a status
        update by it, and `get` and `update_status` take what it found."""
        return await self._ledger.get(app, ref)

    async def get(
        self, app: AppConfig, ref: CustomerRef, order_id: int, order: Order | None
    ) -> Order:
        """The customer's order; `order` is what `locate` found for `order_id`."""
        backend = self._backends[app.target]
        customer = await self._customer(backend, app, ref)
        if order is None or order.customer_id != customer.id:
            raise UnknownOrder(order_id)
        return await self._with_points(app, backend, customer, order)

    async def settle(self, order: Order) -> Order | None:
        """The order once its backend knows its outcome; None while that is still unknown."""
        return await self._backends[order.target].settle(order)

    async def update_status(
        self, app: AppConfig, ref: OrderRef, status: OrderStatus, order: Order | None
    ) -> Order:
        """Approve or reject `order`, what `locate` found for `ref`."""
        if order is None:
            raise UnknownOrder(ref.order_id if ref.order_id is not None else ref.external_id or "")
        if status not in TRANSITIONS.get(order.status, frozenset()):
            raise InvalidStatusTransition(order.id, order.status, status)
        backend = self._backends[order.target]
        now = self._clock.now()
        if status is OrderStatus.APPROVED:
            updated = await backend.approve(order, now)
        else:
            updated = await backend.reject(order, now)
        customer = await backend.resolve_customer(app.name, CustomerRef(user_id=order.customer_id))
        return await self._with_points(app, backend, customer, updated)

    async def _customer(self, backend: Backend, app: AppConfig, ref: CustomerRef) -> Customer:
        return _known(await backend.resolve_customer(app.name, ref), ref)

    @staticmethod
    def _shipping_address(offer: Offer, address: ShippingAddress | None) -> ShippingAddress | None:
        """Physical rewards need a valid address; for others an address is kept as given."""
        return validate_address(offer.id, address) if offer.physical else address

    async def _check_challenge(
        self, app: AppConfig, customer: Customer, offer: Offer, challenge_id: int | None
    ) -> None:
        """A Canadian customer entering a contest must have answered a skills-test challenge."""
        if not offer.contest or (customer.country or "").upper() not in CHALLENGE_COUNTRIES:
            return
        if challenge_id is None or not await self._catalog.challenge_is_valid(
            app.name, challenge_id, customer.id, offer.id
        ):
            raise ChallengeRequired(customer.id, offer.id, challenge_id)

    @staticmethod
    def _review(app: AppConfig, offer: Offer, command: PlaceOrder) -> OrderStatus:
        if command.hold_for_review:
            return OrderStatus.PENDING_APPROVAL
        return decide(app.review, offer, command.quantity)

    @staticmethod
    def _velocity(app: AppConfig, ip: str | None, now: datetime) -> VelocityLimit | None:
        """The app's velocity limit for this IP, counted by the store in the order's write."""
        if app.velocity is None or not ip:
            return None
        since = now - timedelta(seconds=app.velocity.window_seconds)
        return VelocityLimit(max_orders=app.velocity.max_orders, since=since)

    async def _with_points(
        self, app: AppConfig, backend: Backend, customer: Customer | None, order: Order
    ) -> Order:
        """The order with the customer's points when the app shows them, else without.

        A backend that knew the balance already (the local debit's) saves asking again.
        """
        if not app.enable_mpoints_info_in_users_api or customer is None:
            return order.model_copy(update={"available_points": None})
        if order.available_points is not None:
            return order
        return order.model_copy(update={"available_points": await backend.balance(customer)})


def _known(customer: Customer | None, ref: CustomerRef) -> Customer:
    if customer is None:
        raise UnknownCustomer(ref.user_id if ref.user_id is not None else ref.external_id)
    return customer


def _registered(customer: Customer | None, ref: CustomerRef) -> Customer:
    known = _known(customer, ref)
    if not known.registered:
        raise UnregisteredCustomer(known.id)
    return known
