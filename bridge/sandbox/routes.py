"""The sandbox's Incentives routes (Connect) and the legacy Core customer lookup.

Every Connect call is a POST with a JSON body carrying `retailer_id`, under HTTP Basic with the
Connect key and secret; every answer is the envelope. Objects are rendered here as plain dicts,
written from the contract (DESIGN.md section 3), independently of the bridge's mapping modules,
so that a mistake in a mapping shows up as a failing test rather than being mirrored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import Customer, Offer, Order, OrderStatus, Purchase
from bridge.clock import Clock
from bridge.errors import InsufficientPoints, OfferInactive, OutOfStock, UnknownCustomer
from bridge.sandbox import ids
from bridge.sandbox.config import SandboxConfig, SandboxTenant
from bridge.sandbox.errors import SandboxError, ok
from bridge.store.rows import utc
from bridge.store.sandbox import SandboxStore

CONFIG = web.AppKey("sandbox_config", SandboxConfig)
STORE = web.AppKey("sandbox_store", SandboxStore)
CLOCK = web.AppKey("sandbox_clock", Clock)

OFFERS = "/offers/api/2.0/offers"
POINTS = "/incentives/api/1.0/user_points"
AUDIT_LOGS = "/incentives/api/1.0/point_audit_logs/fetch_point_audit_logs"
MAX_TAKE = 1000
REGISTERED_AT = "2015-01-01 00:00:00"


def add_routes(app: web.Application) -> None:
    app.router.add_post(f"{OFFERS}/rewardstores/purchase_offer", purchase_offer)
    app.router.add_post(f"{OFFERS}/rewardstores/get_reward_store_offers", reward_store_offers)
    app.router.add_post(f"{OFFERS}/get_user_offers", user_offers)
    app.router.add_post(f"{OFFERS}/acquisition/revoke", revoke)
    app.router.add_post(f"{OFFERS}/redemption/manual_redeem", manual_redeem)
    app.router.add_post(f"{POINTS}/all_balances", all_balances)
    app.router.add_post(f"{POINTS}/deposit", deposit)
    app.router.add_post(AUDIT_LOGS, point_audit_logs)
    app.router.add_get("/priv/v1/apps/{api_key}/users/{user_id}", core_user)
    app.router.add_get("/priv/v1/apps/{api_key}/external/users/{external_id}", core_user)


def iso(value: datetime) -> str:
    """.NET-style ISO-8601 UTC with seven fractional digits."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0Z"


def _credentials_match(header: str | None, key: str, secret: str) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, key) and hmac.compare_digest(password, secret)


async def _connect_call(request: web.Request) -> tuple[SandboxTenant, dict[str, Any]]:
    """Authenticate a Connect call and find its retailer."""
    config = request.app[CONFIG]
    header = request.headers.get("Authorization")
    if not _credentials_match(header, config.connect_key, config.connect_secret):
        raise SandboxError("unauthorized", "Invalid Connect credentials.")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise SandboxError("validation", "The body is not JSON.") from exc
    if not isinstance(body, dict):
        raise SandboxError("validation", "The body must be a JSON object.")
    tenant = config.by_retailer(str(body.get("retailer_id")))
    if tenant is None:
        raise SandboxError("retailer_not_found", "Unknown retailer_id.")
    return tenant, body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise SandboxError("validation", f"{name} is required.")
    return value


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return str(value) if value is not None else None


def _number(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SandboxError("validation", f"{name} must be a non-negative integer.")
    return value


async def _customer(store: SandboxStore, tenant: SandboxTenant, user_id: str) -> Customer:
    customer = await store.catalog.customer(tenant.app, user_id)
    if customer is None:
        raise UnknownCustomer(user_id)
    return customer


async def _store_offer(store: SandboxStore, tenant: SandboxTenant, body: dict[str, Any]) -> Offer:
    wanted = _text(body, "reward_store_offer_id")
    if _text(body, "reward_store_id") != ids.reward_store_id(tenant.app):
        raise SandboxError("offer_not_found", "No such reward store.")
    for offer in await store.offers(tenant.app):
        if ids.store_offer_id(tenant.app, offer.id) == wanted:
            return offer
    raise SandboxError("offer_not_found", "No such reward store offer.")


def _user_offer(tenant: SandboxTenant, order: Order) -> dict[str, Any]:
    return {
        "user_offer_id": ids.user_offer_id(order.id),
        "offer_id": ids.root_offer_id(tenant.app, order.offer_id),
        "root_offer_id": ids.root_offer_id(tenant.app, order.offer_id),
        "acquire_date": iso(order.created_at),
        "expiration_date": None,
    }


async def purchase_offer(request: web.Request) -> web.Response:
    """Spend points and issue the offer in one transaction; repeated ids answer the first."""
    tenant, body = await _connect_call(request)
    store = request.app[STORE]
    key = _text(body, "idempotency_id")
    order = await store.purchase_by_key(tenant.app, key)
    if order is None:
        order = await _new_purchase(request, tenant, body, key)
    balance = await store.catalog.balance(tenant.app, order.customer_id)
    return ok({"user_offer": _user_offer(tenant, order), "points_remaining": balance})


async def _new_purchase(
    request: web.Request, tenant: SandboxTenant, body: dict[str, Any], key: str
) -> Order:
    store = request.app[STORE]
    customer = await _customer(store, tenant, _text(body, "user_id"))
    offer = await _store_offer(store, tenant, body)
    quantity = _number(body, "quantity", 1)
    if quantity < 1:
        raise SandboxError("validation", "quantity must be positive.")
    if not offer.active:
        raise OfferInactive(offer.id)
    balance, cost = await store.catalog.balance(tenant.app, customer.id), offer.points * quantity
    if balance < cost:
        raise InsufficientPoints(customer.id, balance, cost)
    if offer.inventory is not None and offer.inventory < quantity:
        raise OutOfStock(offer.id, offer.inventory, quantity)
    purchase = Purchase(
        app=tenant.app,
        customer=customer,
        offer=offer,
        quantity=quantity,
        points=offer.points * quantity,
        status=OrderStatus.PENDING_APPROVAL,
        email=None,
        ip=None,
        shipping_address=None,
        challenge_id=None,
        external_id=key,
        created_at=request.app[CLOCK].now(),
    )
    return await store.place(purchase)  # a refusal it races into is a domain error too


def _offer(tenant: SandboxTenant, offer: Offer) -> dict[str, Any]:
    return {
        "id": ids.store_offer_id(tenant.app, offer.id),
        "root_offer_id": ids.root_offer_id(tenant.app, offer.id),
        "reward_store_id": ids.reward_store_id(tenant.app),
        "price": offer.points,
        "start_date": None,
        "end_date": None,
        "offer_details": {
            "internal_name": f"legacy:{offer.id}",
            "title": offer.name,
            "description": offer.description,
            "terms": "",
            "media": [{"uri": offer.logo}] if offer.logo else [],
            "offer_inventory_restrictions": [],
        },
    }


async def reward_store_offers(request: web.Request) -> web.Response:
    """The active offers of the asked reward stores, paged with skip/take."""
    tenant, body = await _connect_call(request)
    skip, take = _number(body, "skip", 0), _number(body, "take", 100)
    if take > MAX_TAKE:
        raise SandboxError("validation", f"take must be at most {MAX_TAKE}.")
    stores = body.get("reward_store_ids") or []
    wanted = ids.reward_store_id(tenant.app) in stores
    offers = [o for o in await request.app[STORE].offers(tenant.app) if o.active and wanted]
    page = [_offer(tenant, offer) for offer in offers[skip : skip + take]]
    return ok({"reward_store_offers": page, "total_rows": len(offers), "skip": skip, "take": take})


async def user_offers(request: web.Request) -> web.Response:
    """A customer's wallet: issued and redeemed offers, with the purchase's idempotency id."""
    tenant, body = await _connect_call(request)
    store = request.app[STORE]
    customer = await _customer(store, tenant, _text(body, "user_id"))
    skip, take = _number(body, "skip", 0), _number(body, "take", 100)
    orders, total = await store.wallet(tenant.app, customer.id, skip, take)
    entries = [
        {
            "id": ids.user_offer_id(order.id),
            "offer_id": ids.root_offer_id(tenant.app, order.offer_id),
            "root_offer_id": ids.root_offer_id(tenant.app, order.offer_id),
            "name": order.name,
            "description": order.description,
            "is_redeemable": order.status is OrderStatus.PENDING_APPROVAL,
            "start_date": iso(order.created_at),
            "expiration_date": None,
            "idempotency_id": order.external_id,
            "media": [{"uri": order.logo}] if order.logo else [],
        }
        for order in orders
    ]
    balance = await store.catalog.balance(tenant.app, customer.id)
    return ok({"user_offers": entries, "total_records": total, "available_points": balance})


async def _issued(request: web.Request) -> tuple[SandboxTenant, Order]:
    tenant, body = await _connect_call(request)
    order_id = ids.order_id_of(_text(body, "user_offer_id"))
    order = None if order_id is None else await request.app[STORE].order(tenant.app, order_id)
    if order is None:
        raise SandboxError("user_offer_not_found", "No such user offer.")
    return tenant, order


async def revoke(request: web.Request) -> web.Response:
    _tenant, order = await _issued(request)
    await request.app[STORE].revoke(order, request.app[CLOCK].now())
    return ok({"user_offer_id": ids.user_offer_id(order.id), "revoked": True})


async def manual_redeem(request: web.Request) -> web.Response:
    _tenant, order = await _issued(request)
    if order.status is OrderStatus.REJECTED:
        raise SandboxError("validation", "A revoked offer cannot be redeemed.")
    await request.app[STORE].redeem(order, request.app[CLOCK].now())
    return ok({"user_offer_id": ids.user_offer_id(order.id), "redeemed": True})


async def all_balances(request: web.Request) -> web.Response:
    tenant, body = await _connect_call(request)
    store = request.app[STORE]
    customer = await _customer(store, tenant, _text(body, "user_id"))
    balance = await store.catalog.balance(tenant.app, customer.id)
    account = {
        "account_name": "Points",
        "point_account_id": ids.point_account_id(tenant.app),
        "available_balance": balance,
    }
    return ok(
        {"summary": {"total_points": balance, "life_time_points": balance}, "details": [account]}
    )


async def deposit(request: web.Request) -> web.Response:
    """Credit points; each detail is applied once per idempotency id."""
    tenant, body = await _connect_call(request)
    store = request.app[STORE]
    customer = await _customer(store, tenant, _text(body, "user_id"))
    details = body.get("deposit_details")
    if (
        not isinstance(details, list)
        or not details
        or not all(isinstance(d, dict) for d in details)
    ):
        raise SandboxError("validation", "deposit_details must be a non-empty list.")
    now = request.app[CLOCK].now()
    for detail in details:
        amount, key = _number(detail, "amount"), _text(detail, "idempotency_id")
        reference = (
            _optional_text(detail, "reference_id"),
            _optional_text(detail, "reference_type"),
        )
        await store.deposit(tenant.app, customer.id, amount, key, now, reference)
    return ok({"deposited": sum(int(d["amount"]) for d in details)})


async def point_audit_logs(request: web.Request) -> web.Response:
    """A customer's points history: each purchase's debit (revoked ones too) and each deposit."""
    tenant, body = await _connect_call(request)
    store = request.app[STORE]
    customer = await _customer(store, tenant, _text(body, "user_id"))
    skip, take = _number(body, "skip", 0), _number(body, "take", 100)
    if take > MAX_TAKE:
        raise SandboxError("validation", f"take must be at most {MAX_TAKE}.")
    purchases, credits = await store.point_history(tenant.app, customer.id)
    entries = [
        {
            "modification": -order.points,
            "time_of_occurrence": iso(order.created_at),
            "point_account_id": ids.point_account_id(tenant.app),
            "reference_type": "user_offer",
            "reference_id": ids.user_offer_id(order.id),
            "idempotency_id": order.external_id,
        }
        for order in purchases
    ]
    entries += [
        {
            "modification": credit.amount,
            "time_of_occurrence": iso(utc(credit.created_at)),
            "point_account_id": ids.point_account_id(tenant.app),
            "reference_type": credit.reference_type,
            "reference_id": credit.reference_id,
            "idempotency_id": credit.idempotency_id,
        }
        for credit in credits
    ]
    entries.sort(key=lambda entry: str(entry["time_of_occurrence"]))
    page = entries[skip : skip + take]
    return ok({"results": page, "total_records": len(entries), "skip": skip, "take": take})


async def core_user(request: web.Request) -> web.Response:
    """The legacy Core customer lookup, by SessionM id or by external id."""
    config, store = request.app[CONFIG], request.app[STORE]
    tenant = config.by_core_key(request.match_info["api_key"])
    header = request.headers.get("Authorization")
    if tenant is None or not _credentials_match(
        header, tenant.core_api_key, tenant.core_api_secret
    ):
        raise SandboxError("unauthorized", "Invalid api key or secret.")
    if "user_id" in request.match_info:
        customer = await store.catalog.customer(tenant.app, request.match_info["user_id"])
    else:
        external_id = request.match_info["external_id"]
        customer = await store.catalog.customer_by_external_id(tenant.app, external_id)
    if customer is None:
        raise UnknownCustomer(
            request.match_info.get("user_id", request.match_info.get("external_id"))
        )
    user = {
        "id": customer.id,
        "external_id": customer.external_id,
        "email": customer.email,
        "country": customer.country,
        "registered_at": REGISTERED_AT if customer.registered else None,
    }
    body = {
        "status": "ok",
        "user": {key: value for key, value in user.items() if value is not None},
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")
