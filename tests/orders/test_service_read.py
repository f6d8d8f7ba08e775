"""OrderService.list and .get over HTTP: a customer sees their own orders, newest first."""

from __future__ import annotations

from tests.clocks import ManualClock
from tests.legacy_api import CA_USER, EXTERNAL_USER, USER, LegacyApi


async def test_orders_are_listed_newest_first(timed_api: LegacyApi, clock: ManualClock) -> None:
    first = (await timed_api.create(offer=1)).order["id"]
    clock.advance(minutes=5)
    second = (await timed_api.create(offer=3)).order["id"]
    assert (await timed_api.list()).ids == [second, first]


async def test_orders_placed_in_the_same_second_list_the_later_first(timed_api: LegacyApi) -> None:
    first = (await timed_api.create(offer=1)).order["id"]
    second = (await timed_api.create(offer=1)).order["id"]
    assert (await timed_api.list()).ids == [second, first]


async def test_a_customer_without_orders_lists_none(api: LegacyApi) -> None:
    assert (await api.list(EXTERNAL_USER)).orders == []


async def test_another_customers_orders_are_not_listed(api: LegacyApi) -> None:
    await api.create(offer=1, customer=CA_USER)
    mine = (await api.create(offer=1)).order["id"]
    assert (await api.list(USER)).ids == [mine]


async def test_listing_an_unknown_customer_is_user_not_found(api: LegacyApi) -> None:
    assert (await api.list("external/users/nobody")).code == "user_not_found"


async def test_a_customer_gets_their_own_order(api: LegacyApi) -> None:
    placed = (await api.create(offer=1)).order
    assert (await api.get(placed["id"])).order == placed


async def test_another_customers_order_is_not_found(api: LegacyApi) -> None:
    theirs = (await api.create(offer=1, customer=CA_USER)).order["id"]
    answer = await api.get(theirs, EXTERNAL_USER)
    assert (answer.status, answer.code) == (404, "not_found")


async def test_an_unknown_order_id_is_not_found(api: LegacyApi) -> None:
    answer = await api.get(424242)
    assert (answer.status, answer.code) == (404, "not_found")


async def test_a_non_numeric_order_id_is_not_found(api: LegacyApi) -> None:
    answer = await api.get("first")
    assert (answer.status, answer.code) == (404, "not_found")


async def test_getting_for_an_unknown_customer_is_user_not_found(api: LegacyApi) -> None:
    placed = (await api.create(offer=1)).order["id"]
    assert (await api.get(placed, "users/nobody")).code == "user_not_found"
