"""OrderService.update_status over HTTP: review decisions, refunds and restocking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr

from tests.conftest import basic_auth
from tests.factories import demo_app, us_address
from tests.legacy_api import LegacyApi

HEADPHONES = 2  # 2000 points, inventory 5, reviewed


async def _pending_headphones(api: LegacyApi, quantity: int = 1) -> int:
    answer = await api.create(offer=HEADPHONES, quantity=quantity, shipping_address=us_address())
    assert answer.order["status"] == "pending_approval"
    order_id: int = answer.order["id"]
    return order_id


async def test_a_pending_order_can_be_approved(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api)
    assert (await api.update(order_id, "approved")).order["status"] == "approved"


async def test_an_approval_is_kept(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api)
    await api.update(order_id, "approved")
    assert (await api.get(order_id)).order["status"] == "approved"


async def test_approving_keeps_the_points_spent(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api)
    assert (await api.update(order_id, "approved")).order["user"]["available_points"] == 8000


async def test_rejecting_refunds_the_points(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api, quantity=2)
    rejected = (await api.update(order_id, "rejected")).order
    assert (rejected["status"], rejected["user"]["available_points"]) == ("rejected", 10000)


async def test_a_refund_shows_in_later_calls(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api, quantity=2)
    await api.update(order_id, "rejected")
    assert (await api.get(order_id)).order["user"]["available_points"] == 10000


async def test_rejecting_restocks_and_refunds_so_the_same_order_can_be_placed_again(
    api: LegacyApi,
) -> None:
    await api.update(await _pending_headphones(api, quantity=5), "rejected")
    assert (await api.create(offer=HEADPHONES, quantity=5, shipping_address=us_address())).order


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("approved", "rejected"),
        ("approved", "approved"),
        ("rejected", "approved"),
        ("rejected", "rejected"),
    ],
)
async def test_a_reviewed_order_cannot_change_again(api: LegacyApi, first: str, then: str) -> None:
    order_id = await _pending_headphones(api)
    await api.update(order_id, first)
    assert (await api.update(order_id, then)).code == "invalid_order_status"


@pytest.mark.parametrize("status", ["pending_approval", "redemption_error"])
async def test_a_pending_order_can_only_be_approved_or_rejected(
    api: LegacyApi, status: str
) -> None:
    order_id = await _pending_headphones(api)
    assert (await api.update(order_id, status)).code == "invalid_order_status"


async def test_an_auto_approved_order_cannot_be_rejected(api: LegacyApi) -> None:
    order_id = (await api.create(offer=1)).order["id"]
    assert (await api.update(order_id, "rejected")).code == "invalid_order_status"


async def test_a_second_rejection_refunds_nothing(api: LegacyApi) -> None:
    order_id = await _pending_headphones(api)
    await api.update(order_id, "rejected")
    await api.update(order_id, "rejected")
    assert (await api.get(order_id)).order["user"]["available_points"] == 10000


@pytest.mark.parametrize("order", [424242, "external/orders/no-such-order"])
async def test_an_unknown_order_is_not_found(api: LegacyApi, order: int | str) -> None:
    answer = await api.update(order, "approved")
    assert (answer.status, answer.code) == (404, "not_found")


async def test_a_non_numeric_order_id_is_not_found(api: LegacyApi) -> None:
    answer = await api.update("orders/latest", "approved")
    assert (answer.status, answer.code) == (404, "not_found")


async def test_an_order_is_found_by_its_external_id(api: LegacyApi) -> None:
    placed = await api.create(offer=1, status="pending_approval", external_id="shop-9")
    approved = (await api.update("external/orders/shop-9", "approved")).order
    assert (approved["id"], approved["external_id"]) == (placed.order["id"], "shop-9")


async def test_another_apps_order_is_not_found(
    start_api: Callable[..., Awaitable[LegacyApi]],
) -> None:
    other = demo_app(name="other", api_key="other-key", api_secret=SecretStr("other-secret"))
    api = await start_api(apps=(demo_app(), other))
    order_id = await _pending_headphones(api)
    intruder = api.as_caller("other-key", **basic_auth("other-key", "other-secret"))
    assert (await intruder.update(order_id, "rejected")).status == 404
