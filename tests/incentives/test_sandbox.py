"""The Incentives sandbox's own contract: auth, retailer scoping, envelopes, paging, idempotency."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.sandbox import ids
from bridge.sandbox.config import DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET
from tests.incentives.conftest import base_url

RETAILER = ids.retailer_id("demo")
STORE = ids.reward_store_id("demo")
OFFERS = "/offers/api/2.0/offers"
CONNECT = (DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET)


async def call(
    server: TestServer,
    path: str,
    body: dict[str, Any],
    credentials: tuple[str, str] = CONNECT,
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": aiohttp.encode_basic_auth(*credentials)}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url(server) + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def purchase(key: str, offer: int = 1, quantity: int = 1) -> dict[str, Any]:
    return {
        "retailer_id": RETAILER,
        "user_id": "demo-user-1",
        "reward_store_id": STORE,
        "reward_store_offer_id": ids.store_offer_id("demo", offer),
        "quantity": quantity,
        "culture": "en-US",
        "idempotency_id": key,
    }


async def balance(server: TestServer) -> int:
    _status, body = await call(
        server,
        "/incentives/api/1.0/user_points/all_balances",
        {"retailer_id": RETAILER, "user_id": "demo-user-1"},
    )
    return int(body["payload"]["details"][0]["available_balance"])


async def test_wrong_connect_secret_is_the_error_dto(sandbox: TestServer) -> None:
    status, body = await call(sandbox, f"{OFFERS}/get_user_offers", {}, ("k", "wrong"))
    assert (status, body["status"], body["errors"]["code"], body["payload"]) == (
        401,
        "error",
        "unauthorized",
        None,
    )


async def test_an_unknown_retailer_is_refused(sandbox: TestServer) -> None:
    status, body = await call(sandbox, f"{OFFERS}/get_user_offers", {"retailer_id": STORE})
    assert (status, body["errors"]["code"]) == (403, "retailer_not_found")


async def test_a_repeated_purchase_id_spends_once(sandbox: TestServer) -> None:
    first = await call(sandbox, f"{OFFERS}/rewardstores/purchase_offer", purchase("k-1"))
    again = await call(sandbox, f"{OFFERS}/rewardstores/purchase_offer", purchase("k-1"))
    assert first == again
    assert await balance(sandbox) == 9900


async def test_not_enough_points_is_a_business_error(sandbox: TestServer) -> None:
    path = f"{OFFERS}/rewardstores/purchase_offer"
    status, body = await call(sandbox, path, purchase("k-2", offer=2, quantity=6))
    assert (status, body["errors"]["code"]) == (422, "insufficient_points")


async def test_catalog_pages_with_skip_and_take(sandbox: TestServer) -> None:
    request = {"retailer_id": RETAILER, "reward_store_ids": [STORE], "skip": 1, "take": 1}
    _status, body = await call(sandbox, f"{OFFERS}/rewardstores/get_reward_store_offers", request)
    payload = body["payload"]
    titles = [offer["offer_details"]["title"] for offer in payload["reward_store_offers"]]
    assert (titles, payload["total_rows"]) == (["Wireless Headphones"], 3)


async def test_a_deposit_is_applied_once_per_idempotency_id(sandbox: TestServer) -> None:
    detail = {"amount": 50, "reference_id": "1", "reference_type": "t", "idempotency_id": "d-1"}
    request = {"retailer_id": RETAILER, "user_id": "demo-user-1", "deposit_details": [detail]}
    for _ in range(2):
        await call(sandbox, "/incentives/api/1.0/user_points/deposit", request)
    assert await balance(sandbox) == 10050


async def test_revoke_takes_the_offer_out_of_the_wallet(sandbox: TestServer) -> None:
    _s, bought = await call(sandbox, f"{OFFERS}/rewardstores/purchase_offer", purchase("k-3"))
    user_offer = bought["payload"]["user_offer"]["user_offer_id"]
    await call(
        sandbox,
        f"{OFFERS}/acquisition/revoke",
        {"retailer_id": RETAILER, "user_offer_id": user_offer},
    )
    _s, wallet = await call(
        sandbox, f"{OFFERS}/get_user_offers", {"retailer_id": RETAILER, "user_id": "demo-user-1"}
    )
    assert wallet["payload"]["total_records"] == 0


async def test_core_lookup_by_external_id(sandbox: TestServer) -> None:
    status, body = await call(
        sandbox,
        "/priv/v1/apps/demo-core-key/external/users/ext-demo-ca",
        {},
        ("demo-core-key", "demo-core-secret"),
        "GET",
    )
    assert (status, body["user"]["id"], body["user"]["country"]) == (200, "demo-user-ca", "CA")


async def test_core_lookup_of_an_unknown_customer_is_the_legacy_error(sandbox: TestServer) -> None:
    status, body = await call(
        sandbox,
        "/priv/v1/apps/demo-core-key/users/nobody",
        {},
        ("demo-core-key", "demo-core-secret"),
        "GET",
    )
    assert (status, body) == (
        404,
        {"status": "error", "errors": {"code": "user_not_found", "message": "No such user."}},
    )


async def test_concurrent_purchases_with_one_id_spend_once(sandbox: TestServer) -> None:
    path = f"{OFFERS}/rewardstores/purchase_offer"
    answers = await asyncio.gather(*(call(sandbox, path, purchase("k-race")) for _ in range(8)))
    user_offers = {body["payload"]["user_offer"]["user_offer_id"] for _status, body in answers}
    assert (len(user_offers), await balance(sandbox)) == (1, 9900)
