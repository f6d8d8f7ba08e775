"""Every one of the ten legacy routes answers over HTTP, by user_id and by external id."""

from __future__ import annotations

import pytest

from tests.legacy_api import EXTERNAL_USER, USER, LegacyApi


async def test_create_by_user_id_places_an_order(api: LegacyApi) -> None:
    order = (await api.create(offer=1, customer=USER)).order
    assert (order["user_id"], order["offer_id"], order["status"]) == ("demo-user-1", 1, "approved")


async def test_create_by_external_id_places_the_order_for_that_customer(api: LegacyApi) -> None:
    order = (await api.create(offer=1, customer=EXTERNAL_USER)).order
    assert order["user_id"] == "demo-user-1"


@pytest.mark.parametrize("customer", [USER, EXTERNAL_USER])
async def test_list_names_the_customer_either_way(api: LegacyApi, customer: str) -> None:
    placed = (await api.create()).order
    assert (await api.list(customer)).ids == [placed["id"]]


@pytest.mark.parametrize("customer", [USER, EXTERNAL_USER])
async def test_get_names_the_customer_either_way(api: LegacyApi, customer: str) -> None:
    placed = (await api.create()).order
    assert (await api.get(placed["id"], customer)).order == placed


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_update_by_order_id_takes_post_and_put(api: LegacyApi, method: str) -> None:
    pending = (await api.create(status="pending_approval")).order
    updated = (await api.update(pending["id"], "approved", method=method)).order
    assert (updated["id"], updated["status"]) == (pending["id"], "approved")


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_update_by_external_order_id_takes_post_and_put(api: LegacyApi, method: str) -> None:
    pending = (await api.create(status="pending_approval", external_id="shop-42")).order
    updated = (await api.update("external/orders/shop-42", "rejected", method=method)).order
    assert (updated["id"], updated["status"]) == (pending["id"], "rejected")


async def test_a_non_numeric_offer_id_is_an_unavailable_offer(api: LegacyApi) -> None:
    assert (await api.create(offer="gift")).code == "offer_not_available"


async def test_a_customer_id_over_255_characters_is_an_argument_error(api: LegacyApi) -> None:
    assert (await api.list(f"users/{'u' * 256}")).code == "argument_error"


async def test_an_external_order_id_over_255_characters_is_an_argument_error(
    api: LegacyApi,
) -> None:
    answer = await api.update(f"external/orders/{'x' * 256}")
    assert (answer.code, answer.message) == ("argument_error", "external_order_id is too long.")


async def test_an_order_id_of_non_ascii_digits_is_not_found(api: LegacyApi) -> None:
    placed = (await api.create()).order
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in str(placed["id"]))
    answer = await api.get(arabic_indic)
    assert (answer.status, answer.code) == (404, "not_found")


async def test_an_offer_id_of_non_ascii_digits_is_an_unavailable_offer(api: LegacyApi) -> None:
    assert (await api.create(offer="²")).code == "offer_not_available"
