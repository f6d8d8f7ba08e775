"""Shipping addresses: required and validated for physical rewards, named when wrong."""

from __future__ import annotations

import pytest

from tests.factories import ca_address, us_address
from tests.legacy_api import LegacyApi

HEADPHONES = 2  # physical
GIFTCARD = 1  # digital


async def test_a_physical_reward_without_an_address_is_missing_data(api: LegacyApi) -> None:
    answer = await api.create(offer=HEADPHONES)
    assert (answer.code, answer.message) == (
        "missing_data",
        "A shipping address is required for a physical reward.",
    )


@pytest.mark.parametrize("field", ["addressee", "street1", "city", "country", "postal_code"])
async def test_a_missing_required_field_is_missing_data_naming_it(
    api: LegacyApi, field: str
) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=us_address(**{field: None}))
    assert (answer.code, answer.message) == (
        "missing_data",
        f"shipping_address.{field} is required.",
    )


async def test_a_blank_field_counts_as_missing(api: LegacyApi) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=us_address(city="  "))
    assert (answer.code, answer.message) == ("missing_data", "shipping_address.city is required.")


@pytest.mark.parametrize(
    "address", [us_address(state_province=None), ca_address(state_province="")]
)
async def test_a_us_or_canadian_address_needs_a_state(
    api: LegacyApi, address: dict[str, str | None]
) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=address)
    assert answer.message == "shipping_address.state_province is required."


@pytest.mark.parametrize(
    ("address", "field"),
    [
        pytest.param(us_address(country="USA"), "country", id="alpha-3-country"),
        pytest.param(us_address(country="XX"), "country", id="unknown-country"),
        pytest.param(us_address(state_province="ZZ"), "state_province", id="unknown-us-state"),
        pytest.param(us_address(state_province="ON"), "state_province", id="canadian-state-in-us"),
        pytest.param(ca_address(state_province="MA"), "state_province", id="us-state-in-canada"),
        pytest.param(us_address(postal_code="0190"), "postal_code", id="short-zip"),
        pytest.param(us_address(postal_code="01902-12"), "postal_code", id="bad-zip-plus-4"),
        pytest.param(ca_address(postal_code="K1A 0B"), "postal_code", id="short-ca-code"),
        pytest.param(ca_address(postal_code="D1A 0B1"), "postal_code", id="ca-code-letter-d"),
    ],
)
async def test_a_malformed_address_is_a_validation_error_naming_the_field(
    api: LegacyApi, address: dict[str, str | None], field: str
) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=address)
    assert (answer.code, answer.message.split(" ")[0]) == (
        "validation",
        f"shipping_address.{field}",
    )


async def test_a_field_over_255_characters_is_a_validation_error(api: LegacyApi) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=us_address(street1="x" * 256))
    assert (answer.code, answer.message.split(":")[0]) == (
        "validation",
        "order.shipping_address.street1",
    )


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(us_address(postal_code="01902-1234"), id="zip-plus-4"),
        pytest.param(ca_address(postal_code="k1a0b1", state_province="on"), id="lowercase-ca"),
        pytest.param(
            us_address(country="GB", state_province=None, postal_code="SW1A 1AA"), id="gb"
        ),
    ],
)
async def test_a_valid_address_is_accepted(api: LegacyApi, address: dict[str, str | None]) -> None:
    assert (await api.create(offer=HEADPHONES, shipping_address=address)).order["quantity"] == 1


async def test_the_country_is_stored_in_upper_case(api: LegacyApi) -> None:
    answer = await api.create(offer=HEADPHONES, shipping_address=us_address(country="us"))
    assert answer.order["shipping_address"]["country"] == "US"


async def test_a_digital_reward_needs_no_address(api: LegacyApi) -> None:
    assert "shipping_address" not in (await api.create(offer=GIFTCARD)).order


async def test_a_refused_address_takes_no_stock(api: LegacyApi) -> None:
    await api.create(offer=HEADPHONES, shipping_address=us_address(country="XX"))
    answer = await api.create(offer=HEADPHONES, quantity=5, shipping_address=us_address())
    assert answer.order["quantity"] == 5
