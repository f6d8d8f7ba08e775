"""One app on the Incentives target: its id map, credentials, caches, and one method per call.

Every method applies the call's mapping module (mappings/incentives/) on the way out and on the
way back; nothing here knows a wire field name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog
from cachetools import TTLCache
from pydantic import BaseModel, ValidationError

from bridge.canonical import Customer, CustomerRef, ErrorCode, Offer, Order
from bridge.clock import Clock
from bridge.errors import RuleError, UpstreamError
from bridge.incentives.client import CallOptions, UpstreamClient, UpstreamFailure
from bridge.incentives.config import IncentivesConfig, OfferLink
from bridge.mapping import Mapping
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
        timeout = aiohttp.ClientTimeout(
            total=config.total_timeout_seconds,
            connect=config.connect_timeout_seconds,
            sock_read=config.read_timeout_seconds,
        )
        secret = config.connect_secret.get_secret_value()
        self._connect = CallOptions(_basic(config.connect_key, secret), timeout)
        core_secret = config.core_api_secret.get_secret_value()
        self._core = CallOptions(_basic(config.core_api_key, core_secret), timeout)
        self._customers: TTLCache[tuple[str, str], core_user.CoreUser] = TTLCache(
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

    async def _call(self, module: Any, call: BaseModel, *, read: bool) -> Any:
        """One Connect call: the module's request mapping, the POST, its response mapping."""
        name = module.__name__.rsplit(".", 1)[1]
        request: Mapping[Any] = module.REQUEST
        body = request.apply(call).model_dump(mode="json", exclude_none=True)
        payload = await self.client.post(name, module.PATH, body, self._connect, read=read)
        response: Mapping[Any] | None = module.RESPONSE
        if response is None:
            return None
        return self._translate(name, response, payload)

    async def call(self, module: Any, call: BaseModel, *, read: bool) -> Any:
        """One Connect call through its mapping module (for `reconcile`: wallets, points
        histories, and the deposit that refunds a purchase no order stands for)."""
        return await self._call(module, call, read=read)

    def _translate(self, name: str, response: Mapping[Any], payload: Any) -> Any:
        """Apply a response mapping; an answer it cannot read is the upstream's failure."""
        try:
            return response.apply(response.source.model_validate(payload))
        except ValidationError as exc:
            if self._metrics is not None:
                self._metrics.translation_failures.labels(name, "response").inc()
            log.warning("upstream_answer_untranslatable", call=name, errors=exc.error_count())
            raise UpstreamFailure(
                "untranslatable answer",
                self.client.base_url,
                retryable=False,
                outcome="invalid_response",
            ) from exc

    async def customer(self, ref: CustomerRef) -> Customer | None:
        """The Core lookup by SessionM id or external id; found customers are cached."""
        if ref.user_id is not None:
            key = ("id", ref.user_id)
            path = core_user.PATH_BY_ID.format(
                api_key=quote(self.config.core_api_key), user_id=quote(ref.user_id, safe="")
            )
        else:
            key = ("external_id", ref.external_id or "")
            path = core_user.PATH_BY_EXTERNAL_ID.format(
                api_key=quote(self.config.core_api_key), external_id=quote(key[1], safe="")
            )
        user = self._customers.get(key)
        if user is None:
            user = await self._lookup(path)
            if user is None:
                return None
            self._customers[key] = user
        return Customer(
            app=self.app,
            id=user.user_id,
            external_id=user.external_id,
            registered=user.registered,
            email=user.email,
            country=user.country,
        )

    async def _lookup(self, path: str) -> core_user.CoreUser | None:
        try:
            body = await self.core_client.get("core_user", path, self._core)
        except RuleError as exc:
            if exc.code in (ErrorCode.USER_NOT_FOUND, ErrorCode.NOT_FOUND):
                return None
            raise
        result: core_user.CoreUser = self._translate("core_user", core_user.RESPONSE, body)
        return result

    def link(self, offer_id: int) -> OfferLink | None:
        return self.config.offers.get(offer_id)

    async def offer(self, offer_id: int, now: datetime) -> Offer | None:
        """The legacy offer: the catalog's name, price and dates plus the id map's legacy facts."""
        link = self.link(offer_id)
        if link is None:
            return None
        store_offer = (await self.catalog()).get(link.reward_store_offer_id)
        if store_offer is None:
            return None
        on_sale = (store_offer.starts_at is None or store_offer.starts_at <= now) and (
            store_offer.ends_at is None or now < store_offer.ends_at
        )
        return Offer(
            app=self.app,
            id=offer_id,
            name=store_offer.name,
            logo=store_offer.logo,
            description=store_offer.description,
            offer_type=link.offer_type,
            points=store_offer.points,
            inventory=None,
            physical=link.physical,
            contest=link.contest,
            review=link.review,
            active=on_sale,
        )

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
        catalog: Catalog = {}
        skip = 0
        while store_ids:
            call = reward_store_offers.CatalogCall(
                retailer_id=self.config.retailer_id,
                culture=self.config.culture,
                reward_store_ids=tuple(store_ids),
                skip=skip,
                take=reward_store_offers.MAX_TAKE,
            )
            page: reward_store_offers.CatalogPage = await self._call(
                reward_store_offers, call, read=True
            )
            catalog.update({offer.reward_store_offer_id: offer for offer in page.offers})
            skip += len(page.offers)
            if not page.offers or skip >= page.total:
                break
        return catalog

    async def purchase(self, order: Order, key: str) -> purchase_offer.PurchaseResult:
        """purchase_offer for a ledger order: the issued user_offer_id and points remaining."""
        link = self.link(order.offer_id)
        if link is None:
            raise RuleError(ErrorCode.OFFER_NOT_AVAILABLE, "The reward is not available.")
        call = purchase_offer.PurchaseCall(
            retailer_id=self.config.retailer_id,
            culture=self.config.culture,
            user_id=order.customer_id,
            reward_store_id=link.reward_store_id,
            reward_store_offer_id=link.reward_store_offer_id,
            quantity=order.quantity,
            idempotency_id=key,
        )
        result: purchase_offer.PurchaseResult = await self._call(purchase_offer, call, read=False)
        return result

    async def find_in_wallet(self, user_id: str, key: str) -> str | None:
        """The user_offer_id the purchase with idempotency id `key` issued, if any."""
        skip = 0
        while True:
            call = user_offers.WalletCall(
                retailer_id=self.config.retailer_id,
                culture=self.config.culture,
                user_id=user_id,
                skip=skip,
                take=user_offers.PAGE_SIZE,
            )
            page: user_offers.WalletPage = await self._call(user_offers, call, read=True)
            for entry in page.entries:
                if entry.idempotency_id == key:
                    return entry.user_offer_id
            skip += len(page.entries)
            if not page.entries or skip >= page.total:
                return None

    async def redeem(self, user_offer_id: str) -> None:
        call = manual_redeem.RedeemCall(
            retailer_id=self.config.retailer_id, user_offer_id=user_offer_id
        )
        await self._call(manual_redeem, call, read=False)

    async def revoke(self, user_offer_id: str) -> None:
        call = revoke.RevokeCall(retailer_id=self.config.retailer_id, user_offer_id=user_offer_id)
        await self._call(revoke, call, read=False)

    async def refund(self, user_id: str, points: int, order_id: int, key: str) -> None:
        """Deposit an order's points back into the customer's first point account, once per
        idempotency id `key`."""
        balances = await self._balances(user_id)
        call = deposit.DepositCall(
            retailer_id=self.config.retailer_id,
            user_id=user_id,
            amount=points,
            point_account_id=balances.point_account_id,
            reference_id=str(order_id),
            idempotency_id=key,
        )
        await self._call(deposit, call, read=False)

    async def balance(self, user_id: str) -> int | None:
        """all_balances now; None when it cannot be read now (never an older number passed off
        as current: the legacy answer then leaves `available_points` out)."""
        try:
            return (await self._balances(user_id)).available_points
        except UpstreamError:
            log.warning("balance_unavailable", app=self.app)
            return None

    async def _balances(self, user_id: str) -> all_balances.Balances:
        call = all_balances.BalancesCall(
            retailer_id=self.config.retailer_id, culture=self.config.culture, user_id=user_id
        )
        result: all_balances.Balances = await self._call(all_balances, call, read=True)
        return result
