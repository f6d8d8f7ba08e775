"""OrderService.create over HTTP: who may order what, what it costs, what it takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.factories import ca_address, demo_app, us_address
from tests.legacy_api import CA_USER, EXTERNAL_USER, UNREGISTERED_USER, USER, LegacyApi


@pytest.mark.parametrize("customer", ["users/nobody", "external/users/nobody"])
async def test_an_unknown_customer_is_user_not_found(api: LegacyApi, customer: str) -> None:
    assert (await api.create(offer=1, customer=customer)).code == "user_not_found"


async def test_an_unregistered_customer_must_register_first(api: LegacyApi) -> None:
    answer = await api.create(offer=1, customer=UNREGISTERED_USER)
    assert answer.code == "requires_registered_user"


async def test_a_customer_named_by_external_id_orders_as_by_id(api: LegacyApi) -> None:
    """The customer and the offer are read together, by either of the customer's ids."""
    answer = await api.create(offer=1, customer=EXTERNAL_USER)
    assert (answer.order["user_id"], answer.order["points"]) == ("demo-user-1", 100)
    assert (await api.create(offer=99, customer=EXTERNAL_USER)).code == "offer_not_available"


@pytest.mark.parametrize("offer", [99, 4], ids=["unknown", "inactive"])
async def test_an_unknown_or_inactive_offer_is_not_available(api: LegacyApi, offer: int) -> None:
    answer = await api.create(offer=offer)
    assert (answer.code, answer.message) == ("offer_not_available", "The reward is not available.")


async def test_the_cost_is_offer_points_times_quantity(api: LegacyApi) -> None:
    assert (await api.create(offer=1, quantity=3)).order["points"] == 300


async def test_the_cost_is_debited_from_the_balance(api: LegacyApi) -> None:
    await api.create(offer=1, quantity=3)
    assert (await api.create(offer=1)).order["user"]["available_points"] == 10000 - 300 - 100


async def test_a_quantity_over_the_app_bound_is_a_validation_error(api: LegacyApi) -> None:
    answer = await api.create(offer=1, quantity=101)
    assert (answer.code, answer.message) == ("validation", "order.quantity must be at most 100.")


async def test_the_app_bound_is_configurable(
    start_api: Callable[..., Awaitable[LegacyApi]],
) -> None:
    api = await start_api(apps=(demo_app(max_quantity=2),))
    assert (await api.create(offer=1, quantity=3)).code == "validation"


async def test_not_enough_points_is_offer_not_available_saying_so(api: LegacyApi) -> None:
    answer = await api.create(offer=2, quantity=6, shipping_address=us_address())
    assert answer.code == "offer_not_available"
    assert "enough points" in answer.message


async def test_a_refused_order_takes_no_points(api: LegacyApi) -> None:
    await api.create(offer=2, quantity=6, shipping_address=us_address())
    assert (await api.create(offer=1)).order["user"]["available_points"] == 9900


async def test_an_order_takes_its_quantity_from_stock(api: LegacyApi) -> None:
    await api.create(offer=2, quantity=4, shipping_address=us_address())
    again = await api.create(offer=2, quantity=2, customer=CA_USER, shipping_address=ca_address())
    assert (again.code, again.message) == ("offer_not_available", "The reward is out of stock.")


async def test_the_last_item_in_stock_can_be_ordered(api: LegacyApi) -> None:
    await api.create(offer=2, quantity=4, shipping_address=us_address())
    last = await api.create(offer=2, customer=CA_USER, shipping_address=ca_address())
    assert last.order["quantity"] == 1


async def test_an_out_of_stock_refusal_takes_no_points(api: LegacyApi) -> None:
    await api.create(offer=2, quantity=5, shipping_address=us_address())
    await api.create(offer=2, customer=CA_USER, shipping_address=ca_address())
    order = (await api.create(offer=1, customer=CA_USER)).order
    assert order["user"]["available_points"] == 9900


async def test_the_order_is_kept_for_later_calls(api: LegacyApi) -> None:
    placed = (await api.create(offer=1, customer=EXTERNAL_USER)).order
    assert (await api.get(placed["id"], USER)).order["points"] == 100


async def test_an_external_id_is_unique_per_app(api: LegacyApi) -> None:
    await api.create(offer=1, external_id="shop-1")
    answer = await api.create(offer=1, customer=CA_USER, external_id="shop-1")
    assert answer.code == "validation"
    assert "shop-1" in answer.message


async def test_a_duplicate_external_id_takes_no_points(api: LegacyApi) -> None:
    await api.create(offer=1, external_id="shop-1")
    await api.create(offer=1, external_id="shop-1")
    assert (await api.create(offer=1)).order["user"]["available_points"] == 9800
