"""Review policy: does a new order need a person's approval, or is it approved at once?

An offer's own `review` setting (`approve` or `review`) wins; otherwise the app's rules are
tried in order and the first that matches decides; otherwise the app's default applies.
"""

from __future__ import annotations

from bridge.canonical import Offer, OrderStatus
from bridge.settings import ReviewCondition, ReviewPolicy

DECISIONS = {"approve": OrderStatus.APPROVED, "review": OrderStatus.PENDING_APPROVAL}


def decide(policy: ReviewPolicy, offer: Offer, quantity: int) -> OrderStatus:
    if offer.review in DECISIONS:
        return DECISIONS[offer.review]
    for rule in policy.rules:
        if _matches(rule.when, offer, quantity):
            return DECISIONS[rule.decision]
    return DECISIONS[policy.default]


def _matches(condition: ReviewCondition, offer: Offer, quantity: int) -> bool:
    checks = (
        condition.physical is None or condition.physical == offer.physical,
        condition.contest is None or condition.contest == offer.contest,
        condition.offer_type is None or condition.offer_type == offer.offer_type,
        condition.points_over is None or offer.points * quantity > condition.points_over,
        condition.quantity_over is None or quantity > condition.quantity_over,
    )
    return all(checks)
