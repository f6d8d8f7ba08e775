"""The differ: path templates, the five kinds, and what the rules make equal."""

from __future__ import annotations

from typing import Any

from bridge.shadow.differ import MAX_DIFFERENCES, Difference, Kind, diff
from bridge.shadow.rules import NO_RULES, OperationRules, load_rules
from mappings.legacy.comparison import RULES


def differences(primary: Any, candidate: Any, rules: OperationRules = NO_RULES) -> list[Any]:
    return [(d.path, d.kind, d.primary, d.candidate) for d in diff(primary, candidate, rules)]


def test_equal_documents_have_no_difference() -> None:
    document = {"status": "ok", "orders": [{"id": 1, "points": 100}]}
    assert diff(document, document, NO_RULES) == []


def test_a_changed_value_is_reported_with_its_path_and_both_values() -> None:
    found = differences({"order": {"points": 100}}, {"order": {"points": 101}})
    assert found == [("order.points", Kind.VALUE, 100, 101)]


def test_list_elements_share_one_path_template() -> None:
    primary = {"orders": [{"status": "approved"}, {"status": "approved"}]}
    candidate = {"orders": [{"status": "approved"}, {"status": "rejected"}]}
    assert differences(primary, candidate) == [
        ("orders[].status", Kind.VALUE, "approved", "rejected")
    ]


def test_a_different_json_type_is_a_type_difference() -> None:
    assert differences({"order": {"id": 1}}, {"order": {"id": "1"}}) == [
        ("order.id", Kind.TYPE, 1, "1")
    ]


def test_a_boolean_is_not_a_number() -> None:
    assert differences({"a": 1}, {"a": True}) == [("a", Kind.TYPE, 1, True)]


def test_keys_only_on_one_side_are_missing_or_extra() -> None:
    found = differences({"order": {"logo": "x"}}, {"order": {"description": "y"}})
    assert found == [
        ("order.logo", Kind.MISSING, "x", None),
        ("order.description", Kind.EXTRA, None, "y"),
    ]


def test_positional_lists_of_different_lengths_report_the_lengths() -> None:
    found = differences({"orders": [{"id": 1}, {"id": 2}]}, {"orders": [{"id": 1}]})
    assert found == [("orders", Kind.LIST_LENGTH, 2, 1)]


def test_keyed_lists_match_elements_by_key_not_position() -> None:
    rules = OperationRules(list_keys={"orders": "id"})
    primary = {"orders": [{"id": 1, "points": 10}, {"id": 2, "points": 20}]}
    candidate = {"orders": [{"id": 2, "points": 21}, {"id": 3, "points": 30}]}
    assert differences(primary, candidate, rules) == [
        ("orders[]", Kind.MISSING, {"id": 1, "points": 10}, None),
        ("orders[].points", Kind.VALUE, 20, 21),
        ("orders[]", Kind.EXTRA, None, {"id": 3, "points": 30}),
    ]


def test_numbers_within_the_tolerance_are_equal() -> None:
    rules = OperationRules(tolerance={"order.points": 0.5})
    assert differences({"order": {"points": 10}}, {"order": {"points": 10.4}}, rules) == []
    assert differences({"order": {"points": 10}}, {"order": {"points": 11}}, rules) != []


def test_equivalent_statuses_are_equal_at_their_path_only() -> None:
    rules = OperationRules(equivalent={"order.status": (frozenset({"rejected", "x"}),)})
    assert differences({"order": {"status": "rejected"}}, {"order": {"status": "x"}}, rules) == []
    other = differences({"status": "rejected"}, {"status": "x"}, rules)
    assert other == [("status", Kind.VALUE, "rejected", "x")]


def test_a_broken_answer_is_cut_at_the_maximum() -> None:
    primary = {f"k{i}": i for i in range(MAX_DIFFERENCES + 50)}
    assert len(diff(primary, {}, NO_RULES)) == MAX_DIFFERENCES


def test_a_non_json_answer_compares_as_text() -> None:
    assert diff("plain", "plain", NO_RULES) == []
    assert diff("plain", "other", NO_RULES) == [Difference("$", Kind.VALUE, "plain", "other")]


def test_the_shipped_rules_are_valid_for_every_operation() -> None:
    rules = load_rules(RULES)
    assert set(rules) == {"create_order", "list_orders", "get_order", "update_order_status"}
    assert all(rule.owner and rule.reason for entry in rules.values() for rule in entry.ignore)
