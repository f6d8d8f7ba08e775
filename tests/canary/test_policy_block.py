"""The `canary.analysis` block: defaults, and load errors that name app, operation and field."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.cutover.policy import Operation, PolicyError
from tests.cutover.test_policy import make_app, parse


def policy_with(analysis: Any, percent: float | None = None) -> Any:
    canary: dict[str, Any] = {"target": "incentives", "analysis": analysis}
    if percent is not None:
        canary["percent"] = percent
    return parse(
        {"apps": {"acme": {"target": "legacy", "operations": {"create_order": {"canary": canary}}}}}
    )


def test_defaults_fill_an_empty_block() -> None:
    policy = policy_with({})
    canary = policy.for_operation(make_app(), Operation.CREATE_ORDER).canary
    assert canary.percent is None
    assert canary.analysis.steps == (1, 10, 25, 50, 100)
    assert canary.analysis.limits.error_ratio_increase == 0.01
    assert policy.for_operation(make_app(), Operation.LIST_ORDERS).canary is None


@pytest.mark.parametrize(
    ("analysis", "field", "words"),
    [
        ({"steps": [10, 5, 100]}, "canary.analysis.steps", "rise strictly"),
        ({"steps": [10, 50]}, "canary.analysis.steps", "last step must be 100"),
        ({"steps": [0, 100]}, "canary.analysis.steps", "(0, 100]"),
        ({"steps": []}, "canary.analysis.steps", "at least 1"),
        ({"interval_seconds": 0}, "canary.analysis.interval_seconds", "greater than 0"),
        ({"min_calls": 0}, "canary.analysis.min_calls", "greater than or equal to 1"),
        ({"confidence": 1}, "canary.analysis.confidence", "less than 1"),
        ({"limits": {"p99_ratio": 0.5}}, "canary.analysis.limits.p99_ratio", "greater than 1"),
        (
            {"limits": {"error_ratio_increase": 2}},
            "canary.analysis.limits.error_ratio_increase",
            "less than or equal to 1",
        ),
        ({"limits": {"drift": 1}}, "canary.analysis.limits.drift", "Extra inputs"),
        ({"stepz": [100]}, "canary.analysis.stepz", "Extra inputs"),
    ],
)
def test_a_bad_field_is_named(analysis: Any, field: str, words: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_with(analysis)
    message = str(caught.value)
    assert "app 'acme', operation 'create_order'" in message
    assert f"field '{field}'" in message
    assert words in message


def test_percent_and_analysis_exclude_each_other() -> None:
    with pytest.raises(PolicyError, match=r"field 'canary'.*exclude each other"):
        policy_with({}, percent=5)


def test_a_canary_without_analysis_still_needs_its_percent() -> None:
    with pytest.raises(PolicyError, match=r"field 'canary'.*percent is required"):
        parse({"apps": {"acme": {"canary": {"target": "incentives"}}}})
