"""mappings.legacy.create_order over HTTP: the create body, its defaults and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import SEED_ORDER_REQUEST, us_address
from tests.legacy_api import NO_BODY, LegacyApi

SEED_ORDER_KEYS = {
    "id", "offer_id", "user", "quantity", "points", "status", "created_at", "name", "logo",
    "description", "shipping_address",
}  # fmt: skip
"""The keys of the seed's create-order response example."""


async def test_the_seed_example_body_is_accepted(api: LegacyApi) -> None:
    answer = await api.create(offer=2, body=SEED_ORDER_REQUEST)
    assert answer.order["shipping_address"] == SEED_ORDER_REQUEST["order"]["shipping_address"]


async def test_the_answer_carries_the_seed_example_keys(api: LegacyApi) -> None:
    order = (await api.create(offer=2, body=SEED_ORDER_REQUEST)).order
    assert SEED_ORDER_KEYS.issubset(order)
    assert set(order["user"]) == {"id", "available_points"}


async def test_quantity_defaults_to_one(api: LegacyApi) -> None:
    order = (await api.create(offer=1)).order
    assert (order["quantity"], order["points"]) == (1, 100)


@pytest.mark.parametrize("quantity", [None, "", "  "])
async def test_a_quantity_not_given_defaults_to_one(api: LegacyApi, quantity: Any) -> None:
    assert (await api.create(offer=1, quantity=quantity)).order["quantity"] == 1


@pytest.mark.parametrize(("quantity", "expected"), [("2", 2), (" 3 ", 3), (2.0, 2)])
async def test_a_quantity_may_be_a_string_of_digits(
    api: LegacyApi, quantity: Any, expected: int
) -> None:
    assert (await api.create(offer=1, quantity=quantity)).order["quantity"] == expected


@pytest.mark.parametrize(
    "quantity",
    [0, -1, 1.5, "many", True, "0", "1.5", "+3", "-1", "1_000", "\uff11\uff12", [1], {"n": 1}],
)
async def test_quantity_must_be_a_positive_integer(api: LegacyApi, quantity: Any) -> None:
    answer = await api.create(offer=1, quantity=quantity)
    assert (answer.code, answer.message.split(" ")[0].rstrip(":")) == (
        "validation",
        "order.quantity",
    )


@pytest.mark.parametrize("body", [NO_BODY, None, {}, {"order": None}, [1]])
async def test_a_missing_order_root_is_missing_data(api: LegacyApi, body: Any) -> None:
    answer = await api.call(
        "POST", "/priv/v1/apps/demo-api-key/users/demo-user-1/offers/1/orders", body
    )
    assert answer.code == "missing_data"


async def test_an_order_root_that_is_not_an_object_is_an_argument_error(api: LegacyApi) -> None:
    assert (await api.create(body={"order": [1]})).code == "argument_error"


async def test_unknown_order_fields_are_ignored(api: LegacyApi) -> None:
    assert (await api.create(offer=1, gift_wrap=True)).order["quantity"] == 1


async def test_status_pending_approval_holds_an_auto_approved_reward_for_review(
    api: LegacyApi,
) -> None:
    assert (await api.create(offer=1, status="pending_approval")).order["status"] == (
        "pending_approval"
    )


@pytest.mark.parametrize("status", ["approved", "rejected", "shipped"])
async def test_any_other_requested_status_is_an_invalid_request_order_status(
    api: LegacyApi, status: str
) -> None:
    answer = await api.create(offer=1, status=status)
    assert answer.code == "invalid_request_order_status"


async def test_an_external_id_is_accepted_and_returned(api: LegacyApi) -> None:
    assert (await api.create(offer=1, external_id="shop-7")).order["external_id"] == "shop-7"


@pytest.mark.parametrize("external_id", ["", " ", None])
async def test_an_external_id_not_given_is_absent(api: LegacyApi, external_id: Any) -> None:
    assert "external_id" not in (await api.create(offer=1, external_id=external_id)).order


@pytest.mark.parametrize("challenge_id", [2**63, -1, True, "abc", "11.5", [111111]])
async def test_a_challenge_id_must_be_an_integer_the_store_can_hold(
    api: LegacyApi, challenge_id: Any
) -> None:
    answer = await api.create(offer=1, challenge={"id": challenge_id})
    assert (answer.code, answer.message.split(":")[0]) == ("validation", "order.challenge.id")


async def test_a_fulfilment_email_is_kept_on_the_order(api: LegacyApi) -> None:
    assert (await api.create(offer=1, email="someone@example.com")).order["quantity"] == 1


@pytest.mark.parametrize("email", ["not-an-email", "a@b@c", "a@b\r\nBcc: x@example.com", "@b"])
async def test_a_malformed_fulfilment_email_is_a_validation_error(
    api: LegacyApi, email: str
) -> None:
    answer = await api.create(offer=1, email=email)
    assert (answer.code, answer.message.split(":")[0]) == ("validation", "order.email")


@pytest.mark.parametrize("email", ["", " ", "\t\r\n", None])
async def test_an_email_not_given_falls_back_to_the_customers(api: LegacyApi, email: Any) -> None:
    assert (await api.create(offer=1, email=email)).order["status"] == "approved"


@pytest.mark.parametrize("ip", ["", "   ", None])
async def test_an_ip_not_given_is_absent(api: LegacyApi, ip: Any) -> None:
    assert (await api.create(offer=1, ip=ip)).order["status"] == "approved"


@pytest.mark.parametrize("ip", ["not-an-ip", "198.51.100.7, 10.0.0.1"])
async def test_a_malformed_ip_is_still_a_validation_error(api: LegacyApi, ip: str) -> None:
    answer = await api.create(offer=1, ip=ip)
    assert (answer.code, answer.message) == ("validation", "order.ip is not a valid IP address.")


@pytest.mark.parametrize("status", ["", " ", None])
async def test_a_status_not_given_places_the_order_as_the_app_decides(
    api: LegacyApi, status: Any
) -> None:
    assert (await api.create(offer=1, status=status)).order["status"] == "approved"


@pytest.mark.parametrize("challenge", ["", {}, {"id": ""}, {"id": None}, None])
async def test_a_challenge_not_given_is_absent(api: LegacyApi, challenge: Any) -> None:
    answer = await api.create(offer=3, customer="users/demo-user-ca", challenge=challenge)
    assert answer.code == "challenge_not_found"


async def test_a_challenge_id_may_be_a_string_of_digits(api: LegacyApi) -> None:
    answer = await api.create(offer=3, customer="users/demo-user-ca", challenge={"id": "111111"})
    assert answer.order["quantity"] == 1


@pytest.mark.parametrize("address", ["", {}, {"street1": "", "city": " "}])
async def test_an_address_not_given_is_missing_for_a_physical_offer(
    api: LegacyApi, address: Any
) -> None:
    assert (await api.create(offer=2, shipping_address=address)).code == "missing_data"


async def test_a_blank_address_field_is_an_absent_one(api: LegacyApi) -> None:
    order = (await api.create(offer=2, shipping_address=us_address(street2=""))).order
    assert "street2" not in order["shipping_address"]


async def test_a_blank_required_address_field_is_missing_data(api: LegacyApi) -> None:
    assert (await api.create(offer=2, shipping_address=us_address(city=" "))).code == (
        "missing_data"
    )
