"""The skills-test challenge: Canadian customers entering a contest must answer one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.legacy_api import CA_USER, USER, LegacyApi
from tests.orders.conftest import contest_offer

CONTEST = 3
VALID = {"id": 111111}
"""Demo challenge 111111: valid for demo-user-ca on offer 3."""

Loader = Callable[..., Awaitable[None]]


@pytest.mark.parametrize(
    "challenge",
    [
        pytest.param({}, id="no-challenge"),
        pytest.param({"challenge": {"id": 222222}}, id="unknown-challenge"),
    ],
)
async def test_a_canadian_contest_entry_needs_a_valid_challenge(
    api: LegacyApi, challenge: dict[str, Any]
) -> None:
    answer = await api.create(offer=CONTEST, customer=CA_USER, **challenge)
    assert answer.code == "challenge_not_found"


async def test_a_valid_challenge_admits_the_entry(api: LegacyApi) -> None:
    answer = await api.create(offer=CONTEST, customer=CA_USER, challenge=VALID)
    assert answer.order["status"] == "approved"


async def test_a_challenge_for_another_offer_does_not_count(
    api: LegacyApi, more_data: Loader
) -> None:
    await more_data(offers=[contest_offer(id=5)])
    answer = await api.create(offer=5, customer=CA_USER, challenge=VALID)
    assert answer.code == "challenge_not_found"


async def test_another_customers_challenge_does_not_count(
    api: LegacyApi, more_data: Loader
) -> None:
    await more_data(customers=[{"id": "ca-2", "country": "CA", "points": 100}])
    answer = await api.create(offer=CONTEST, customer="users/ca-2", challenge=VALID)
    assert answer.code == "challenge_not_found"


async def test_an_invalid_challenge_does_not_count(api: LegacyApi, more_data: Loader) -> None:
    invalid = {"id": 333333, "customer": "demo-user-ca", "offer": CONTEST, "status": "invalid"}
    await more_data(challenges=[invalid])
    answer = await api.create(offer=CONTEST, customer=CA_USER, challenge={"id": 333333})
    assert answer.code == "challenge_not_found"


async def test_a_customer_outside_canada_needs_no_challenge(api: LegacyApi) -> None:
    assert (await api.create(offer=CONTEST, customer=USER)).order["offer_id"] == CONTEST


async def test_a_canadian_customer_needs_no_challenge_for_other_rewards(api: LegacyApi) -> None:
    assert (await api.create(offer=1, customer=CA_USER)).order["offer_id"] == 1


async def test_a_refused_entry_takes_no_points(api: LegacyApi) -> None:
    await api.create(offer=CONTEST, customer=CA_USER)
    assert (await api.create(offer=1, customer=CA_USER)).order["user"]["available_points"] == 9900
