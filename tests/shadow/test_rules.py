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


STAMPED = OperationRules(time_tolerance={"order.created_at": 120.0})


@pytest.mark.parametrize(
    ("primary", "candidate", "same"),
    [
        ("2026-03-01 11:59:59", "2026-03-01 12:00:00", True),  # across a second boundary
        ("2026-03-01 23:59:59", "2026-03-02 00:00:30", True),  # across a day boundary
        ("2026-03-01 12:00:00", "2026-03-01 12:02:00", True),  # at the tolerance
        ("2026-03-01 12:00:00", "2026-03-01 12:02:01", False),  # beyond it
        ("2026-03-01 12:00:00", "2026-03-01 13:00:00", False),  # a zone off by an hour
        ("2026-03-01 12:00:00", "2026-03-01T12:00:00Z", False),  # written differently
        ("2026-03-01 12:00:00", "2026-03-01 12:00:00.5", False),
        ("2026-03-01 12:00:00", "not a date-time", False),
        ("2026-03-01 12:00:00", 1772366400, False),
        ("2026-03-01T12:00:00+01:00", "2026-03-01T12:00:30+01:00", True),
        ("9999-12-31 23:59:59", "0001-01-01 00:00:00", False),
    ],
)
def test_date_times_are_equal_within_the_declared_tolerance_if_written_alike(
    primary: str, candidate: object, same: bool
) -> None:
    assert STAMPED.same_value("order.created_at", primary, candidate) is same
    assert STAMPED.same_value("order.name", primary, candidate) is False  # only where declared


def test_every_operation_returning_an_order_declares_a_created_at_tolerance() -> None:
    rules = load_rules(comparison.RULES)
    declared = {name: set(entry.time_tolerance) for name, entry in rules.items()}
    assert declared == {
        "create_order": {"order.created_at"},
        "get_order": {"order.created_at"},
        "update_order_status": {"order.created_at"},
        "list_orders": {"orders[].created_at"},
    }
    hidden = {rule.path for entry in rules.values() for rule in entry.ignore}
    assert not any("created_at" in path or path.endswith(".id") for path in hidden)


def test_a_negative_time_tolerance_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_rules({"get_order": {"time_tolerance": {"order.created_at": -1}}})
