"""Review: offers and the app's declarative rules decide approved or pending_approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bridge.settings import ReviewCondition, ReviewPolicy, ReviewRule
from tests.factories import demo_app, us_address
from tests.legacy_api import LegacyApi

SWEEPSTAKES = 3  # 10 points; no review option of its own


async def test_an_offer_set_to_approve_is_approved_at_once(api: LegacyApi) -> None:
    assert (await api.create(offer=1)).order["status"] == "approved"


async def test_an_offer_set_to_review_waits_for_approval(api: LegacyApi) -> None:
    answer = await api.create(offer=2, shipping_address=us_address())
    assert answer.order["status"] == "pending_approval"


async def test_an_offer_without_its_own_option_follows_the_app_default(api: LegacyApi) -> None:
    assert (await api.create(offer=SWEEPSTAKES)).order["status"] == "approved"


@pytest.mark.parametrize(("quantity", "status"), [(5, "approved"), (6, "pending_approval")])
async def test_an_app_rule_reviews_orders_over_a_points_threshold(
    start_api: Callable[..., Awaitable[LegacyApi]], quantity: int, status: str
) -> None:
    over_50 = ReviewRule(when=ReviewCondition(points_over=50), decision="review")
    app = demo_app(review=ReviewPolicy(default="approve", rules=(over_50,)))
    api = await start_api(apps=(app,))
    assert (await api.create(offer=SWEEPSTAKES, quantity=quantity)).order["status"] == status


async def test_the_app_default_can_be_review(
    start_api: Callable[..., Awaitable[LegacyApi]],
) -> None:
    api = await start_api(apps=(demo_app(review=ReviewPolicy(default="review")),))
    assert (await api.create(offer=SWEEPSTAKES)).order["status"] == "pending_approval"
