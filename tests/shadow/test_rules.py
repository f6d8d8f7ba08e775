"""Ignore rules: hide while live, stop hiding and get reported once expired; validated."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from bridge.shadow.differ import Difference, Kind
from bridge.shadow.rules import IgnoreRule, OperationRules, judge, load_rules
from mappings.legacy import comparison
from tests.shadow.conftest import BridgeFactory

RULE = IgnoreRule(path="order.id", owner="team", reason="ids differ", expires=date(2026, 3, 1))
RULES = OperationRules(ignore=(RULE,))
ID = Difference("order.id", Kind.VALUE, 1, 2)
POINTS = Difference("order.points", Kind.VALUE, 1, 2)


def test_a_live_rule_hides_its_path() -> None:
    judged = judge([ID, POINTS], RULES, date(2026, 3, 1))
    assert (judged.shown, judged.hidden, judged.expired) == ((POINTS,), 1, ())


def test_an_expired_rule_hides_nothing_and_is_reported() -> None:
    judged = judge([ID, POINTS], RULES, date(2026, 3, 2))
    assert (judged.shown, judged.hidden, judged.expired) == ((ID, POINTS), 0, (RULE,))


def test_a_rule_covers_the_paths_below_it_but_not_siblings() -> None:
    rule = IgnoreRule(path="order.user", owner="o", reason="r", expires=date(2030, 1, 1))
    assert rule.covers("order.user.available_points")
    assert rule.covers("order.user")
    assert not rule.covers("order.user_id")


def test_a_rule_without_owner_reason_or_expiry_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_rules({"get_order": {"ignore": [{"path": "order.id", "owner": "o"}]}})


def test_an_unknown_rule_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_rules({"get_order": {"ignored": []}})


async def test_an_expired_rule_is_logged_when_the_bridge_starts(
    shadow_bridge: BridgeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = {"path": "order.id", "owner": "team-x", "reason": "r", "expires": "2026-02-01"}
    monkeypatch.setitem(comparison.RULES, "get_order", {"ignore": [rule]})
    with capture_logs() as logs:
        await shadow_bridge(None, shadow_store=False)
    expired = [log for log in logs if log["event"] == "comparison_rule_expired"]
    assert [(log["operation"], log["path"], log["owner"]) for log in expired] == [
        ("get_order", "order.id", "team-x")
    ]
