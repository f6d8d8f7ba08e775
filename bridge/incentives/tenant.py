"""One app on the Incentives target: its id map, credentials, caches, and one method per call.

Each call is declared in its mapping module (`CALL`, mappings/incentives/): `send` builds the
body with the call's request mapping from the canonical inputs and this app's tenant config,
sends it and reads the answer with the call's response mapping. The methods below only choose
the inputs; nothing here knows a wire field name.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from cachetools import TTLCache
from pydantic import ValidationError

from bridge.canonical import Customer, CustomerRef, ErrorCode, Offer, Order
from bridge.clock import Clock
from bridge.errors import RuleError, UnknownOffer, UpstreamError
from bridge.incentives.client import CallOptions, UpstreamClient, UpstreamFailure
from bridge.incentives.config import IncentivesConfig, OfferLink
from bridge.mapping import Call
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig
from mappings.incentives import (
    all_balances,
    core_user,
    deposit,
    manual_redeem,
    purchase_offer,
    revoke,
    reward_store_offers,
    user_offers,
)
from mappings.incentives.wire import TenantConfig

Catalog = dict[str, reward_store_offers.StoreOffer]

log = structlog.get_logger()


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, secret)}


class Tenant:
    def __init__(
        self,
        app: str,
        config: IncentivesConfig,
        clients: tuple[UpstreamClient, UpstreamClient],
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self._metrics = metrics
        self.config = config
        self.client, self.core_client = clients
        self._clock = clock
        self._tenant = TenantConfig(retailer_id=config.retailer_id, culture=config.culture)
        timeout = aiohttp.ClientTimeout(
            total=config.total_timeout_seconds,
            connect=config.connect_timeout_seconds,
            sock_read=config.read_timeout_seconds,
        )
        secret = config.connect_secret.get_secret_value()
        self._connect = CallOptions(_basic(config.connect_key, secret), timeout)
        core_secret = config.core_api_secret.get_secret_value()
        self._core = CallOptions(_basic(config.core_api_key, core_secret), timeout)
        self._customers: TTLCache[tuple[str, str], Customer] = TTLCache(
            maxsize=config.customer_cache_size,
            ttl=config.customer_cache_seconds,
            timer=self._timer,
        )
        self._catalog: tuple[float, Catalog] | None = None

    @staticmethod
    def build_all(
        apps: Sequence[AppConfig], clock: Clock, metrics: Metrics | None = None
    ) -> list[Tenant]:
        """A tenant per app with an `incentives` block; one client per upstream (role, URL)."""
        clients: dict[tuple[str, str], UpstreamClient] = {}

        def client(role: str, url: str, config: IncentivesConfig) -> UpstreamClient:
            if (role, url) not in clients:
                clients[role, url] = UpstreamClient(
                    url, config.retry, config.breaker, upstream=role, metrics=metrics
                )
            return clients[role, url]

        tenants = []
        for app in apps:
            config = app.incentives
            if config is None:
                continue
            pair = (
                client("incentives", config.base_url, config),
                client("core", config.core_url, config),
            )
            tenants.append(Tenant(app.name, config, pair, clock, metrics))
        return tenants

    def _timer(self) -> float:
        return self._clock.now().timestamp()

    async def send(self, call: Call, **inputs: Any) -> Any:
        """One Connect call as declared: the body from its request mapping (the inputs and this
        app's tenant config), the POST, its response mapping (None when nothing is read)."""
        body = call.body(tenant=self._tenant, **inputs)
        payload = await self.client.post(call.name, call.path, body, self._connect, read=call.read)
        return None if call.response is None else self._translate(call, payload)

    async def pages(self, call: Call, take: int, **inputs: Any) -> AsyncGenerator[Any]:
        """A paged read (`skip`/`take`), page after page, until the total or an empty page."""
        skip = 0
        while True:
            page = await self.send(call, skip=skip, take=take, **inputs)
            yield page
            skip += len(page.entries)
            if not page.entries or skip >= page.total:
                return

    async def every_entry(self, call: Call, take: int, **inputs: Any) -> list[Any]:
        """Every entry of a paged read (for `reconcile`: wallets and points histories)."""
        return [entry async for page in self.pages(call, take, **inputs) for entry in page.entries]

    def _translate(self, call: Call, payload: Any, **supplied: Any) -> Any:
        """Apply a response mapping (with the values it is `supplied`); an answer it cannot
        read is the upstream's failure: one its wire model refuses (ValidationError) or whose
        value a converter cannot read (a date that is no date: ValueError, TypeError)."""
        response = call.response
        assert response is not None
        try:
            return response.apply(response.source.model_validate(payload), **supplied)
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            if self._metrics is not None:
                self._metrics.translation_failures.labels(call.name, "response").inc()
            errors = exc.error_count() if isinstance(exc, ValidationError) else 1
            log.warning("upstream_answer_untranslatable", call=call.name, errors=errors)
            raise UpstreamFailure(
                "untranslatable answer",
                self.client.base_url,
                retryable=False,
                outcome="invalid_response",
            ) from exc

    async def customer(self, ref: CustomerRef) -> Customer | None:
        """The Core lookup by SessionM id or external id (its mapping builds the customer of
        this app); found customers are cached."""
        api_key = self.config.core_api_key
        if ref.user_id is not None:
            key = ("id", ref.user_id)
            call, path = core_user.CALL, core_user.CALL.url(api_key=api_key, user_id=ref.user_id)
        else:
            key = ("external_id", ref.external_id or "")
            call = core_user.BY_EXTERNAL_ID
            path = call.url(api_key=api_key, external_id=key[1])
        customer = self._customers.get(key)
        if customer is None:
            customer = await self._lookup(call, path)
            if customer is None:
                return None
            self._customers[key] = customer
        return customer

    async def _lookup(self, call: Call, path: str) -> Customer | None:
        try:
            body = await self.core_client.get(call.name, path, self._core)
        except RuleError as exc:
            if exc.code in (ErrorCode.USER_NOT_FOUND, ErrorCode.NOT_FOUND):
                return None
            raise
        customer: Customer = self._translate(call, body, app=self.app)
        return customer

    def link(self, offer_id: int) -> OfferLink | None:
        return self.config.offers.get(offer_id)

    async def offer(self, offer_id: int, now: datetime) -> Offer | None:
        """The legacy offer, on sale or not at `now`: the catalog's name, price and dates plus
        the id map's legacy facts (`reward_store_offers.LEGACY_OFFER`)."""
        link = self.link(offer_id)
        if link is None:
            return None
        entry = (await self.catalog()).get(link.reward_store_offer_id)
        if entry is None:
            return None
        source = reward_store_offers.CatalogOffer.model_validate(
            {"entry": entry, "link": link, "now": now}
        )
        return reward_store_offers.LEGACY_OFFER.apply(source, app=self.app, id=offer_id)

    async def catalog(self) -> Catalog:
        """Every offer of the app's reward stores, cached for `catalog_cache_seconds`."""
        now = self._timer()
        if self._catalog is not None and now < self._catalog[0]:
            return self._catalog[1]
        catalog = await self.fetch_catalog(
            sorted({link.reward_store_id for link in self.config.offers.values()})
        )
        self._catalog = (now + self.config.catalog_cache_seconds, catalog)
        return catalog

    async def fetch_catalog(self, store_ids: Sequence[str]) -> Catalog:
        if not store_ids:
            return {}
        offers: list[reward_store_offers.StoreOffer] = await self.every_entry(
            reward_store_offers.CALL, reward_store_offers.MAX_TAKE, reward_store_ids=store_ids
        )
        return {offer.reward_store_offer_id: offer for offer in offers}

    async def purchase(self, order: Order, key: str) -> purchase_offer.PurchaseResult:
        """purchase_offer for a ledger order: the issued user_offer_id and points remaining."""
        link = self.link(order.offer_id)
        if link is None:
            raise UnknownOffer(order.offer_id)
        result: purchase_offer.PurchaseResult = await self.send(
            purchase_offer.CALL,
            order=order,
            reward_store_id=link.reward_store_id,
            reward_store_offer_id=link.reward_store_offer_id,
            idempotency_id=key,
        )
        return result

    async def find_in_wallet(self, user_id: str, key: str) -> str | None:
        """The user_offer_id the purchase with idempotency id `key` issued, if any."""
        wallet = self.pages(user_offers.CALL, user_offers.PAGE_SIZE, user_id=user_id)
        async with aclosing(wallet) as pages:
            async for page in pages:
                for entry in page.entries:
                    if entry.idempotency_id == key:
                        return str(entry.user_offer_id)
        return None

    async def redeem(self, user_offer_id: str) -> None:
        await self.send(manual_redeem.CALL, user_offer_id=user_offer_id)

    async def revoke(self, user_offer_id: str) -> None:
        await self.send(revoke.CALL, user_offer_id=user_offer_id)

    async def refund(self, user_id: str, points: int, order_id: int, key: str) -> None:
        """Deposit an order's points back into the customer's first point account, once per
        idempotency id `key`."""
        balances = await self.balances(user_id)
        await self.deposit(user_id, points, balances.point_account_id, str(order_id), key)

    async def deposit(
        self, user_id: str, points: int, account: str | None, reference: str, key: str
    ) -> None:
        """Deposit `points` into `account`, naming what they refund (`reference`), once per
        idempotency id `key`."""
        await self.send(
            deposit.CALL,
            user_id=user_id,
            amount=points,
            point_account_id=account,
            reference_id=reference,
            idempotency_id=key,
        )

    async def balance(self, user_id: str) -> int | None:
        """all_balances now; None when it cannot be read now (never an older number passed off
        as current: the legacy answer then leaves `available_points` out)."""
        try:
            return (await self.balances(user_id)).available_points
        except UpstreamError:
            log.warning("balance_unavailable", app=self.app)
            return None

    async def balances(self, user_id: str) -> all_balances.Balances:
        result: all_balances.Balances = await self.send(all_balances.CALL, user_id=user_id)
        return result
