"""The canary analysis: the statistics against published figures, and the verdicts."""

from __future__ import annotations

import pytest

from bridge.canary.analysis import (
    LATENCY_BOUNDS,
    Cohort,
    Outcome,
    Reason,
    Signals,
    analyse,
    increase_lower_bound,
    latency_bin,
    quantile,
    slower_p_value,
)
from bridge.cutover.policy import CanaryAnalysis, CanaryLimits

PLAN = CanaryAnalysis(min_calls=50)
BINS = len(LATENCY_BOUNDS) + 1


def histogram(values: list[int]) -> tuple[int, ...]:
    counts = [0] * BINS
    for value in values:
        counts[value] += 1
    return tuple(counts)


def cohort(calls: int, failures: int = 0, refusals: int = 0, seconds: float = 0.02) -> Cohort:
    latency = [0] * BINS
    latency[latency_bin(seconds)] = calls
    return Cohort(calls, failures, refusals, tuple(latency))


def test_newcombe_lower_bound_matches_the_paper() -> None:
    """Newcombe 1998, table II, 56/70 vs 48/80: 95 % interval 0.0524 to 0.3339 (method 10)."""
    lower = increase_lower_bound(Cohort(70, 56), Cohort(80, 48), 1.959964)
    assert lower == pytest.approx(0.0524, abs=5e-5)


@pytest.mark.parametrize(
    ("canary", "baseline", "expected"),
    [
        # scipy.stats.mannwhitneyu(..., alternative="greater", method="asymptotic"), 1.17.1
        ([3, 3, 3], [1, 1, 1], 0.02342708880193688),
        ([1, 2, 2, 3, 5, 8, 8], [1, 1, 2, 4], 0.10486490142034505),
    ],
)
def test_mann_whitney_on_bins_matches_scipy(
    canary: list[int], baseline: list[int], expected: float
) -> None:
    assert slower_p_value(histogram(canary), histogram(baseline)) == pytest.approx(expected)


def test_latency_bins_and_quantile() -> None:
    assert latency_bin(0.0005) == 0
    assert LATENCY_BOUNDS[latency_bin(0.3) - 1] < 0.3 <= LATENCY_BOUNDS[latency_bin(0.3)]
    assert latency_bin(3600) == BINS - 1
    assert quantile(cohort(100, seconds=0.3).latency, 0.99) == pytest.approx(0.3, rel=0.25)
    assert quantile(Cohort().latency, 0.99) is None


def test_healthy_cohorts_with_enough_calls_advance() -> None:
    verdict = analyse(Signals(cohort(60, failures=1), cohort(600, failures=6)), PLAN)
    assert (verdict.outcome, verdict.reason) == (Outcome.ADVANCE, Reason.HEALTHY)
    assert verdict.figures["canary_calls"] == 60


def test_too_few_calls_hold() -> None:
    verdict = analyse(Signals(cohort(49), cohort(600)), PLAN)
    assert (verdict.outcome, verdict.reason) == (Outcome.HOLD, Reason.NOT_ENOUGH_DATA)


def test_one_failure_in_a_few_calls_is_not_a_rollback() -> None:
    verdict = analyse(Signals(cohort(10, failures=1), cohort(10)), PLAN)
    assert verdict.outcome is Outcome.HOLD


def test_many_failures_roll_back_before_min_calls() -> None:
    verdict = analyse(Signals(cohort(20, failures=8), cohort(200, failures=1)), PLAN)
    assert (verdict.outcome, verdict.reason) == (Outcome.ROLLBACK, Reason.ERROR_RATIO)


def test_business_refusals_are_not_failures() -> None:
    verdict = analyse(Signals(cohort(100, refusals=40), cohort(100)), PLAN)
    assert verdict.outcome is Outcome.ADVANCE


def test_failures_without_a_baseline_are_judged_alone() -> None:
    verdict = analyse(Signals(cohort(30, failures=10), Cohort()), PLAN)
    assert verdict.reason is Reason.ERROR_RATIO


def test_a_slower_canary_rolls_back_on_latency() -> None:
    verdict = analyse(Signals(cohort(60, seconds=0.5), cohort(600, seconds=0.05)), PLAN)
    assert (verdict.outcome, verdict.reason) == (Outcome.ROLLBACK, Reason.LATENCY)
    assert verdict.figures["p99_ratio"] > 5


def test_a_slightly_slower_canary_within_the_ratio_advances() -> None:
    verdict = analyse(Signals(cohort(60, seconds=0.055), cohort(600, seconds=0.05)), PLAN)
    assert verdict.outcome is Outcome.ADVANCE


def test_latency_is_not_judged_on_few_calls() -> None:
    verdict = analyse(Signals(cohort(10, seconds=0.5), cohort(600, seconds=0.05)), PLAN)
    assert verdict.outcome is Outcome.HOLD


def test_shadow_mismatches_roll_back() -> None:
    plan = PLAN.model_copy(update={"limits": CanaryLimits(shadow_mismatch_ratio=0.01)})
    verdict = analyse(
        Signals(cohort(60), cohort(600), shadow_compared=50, shadow_mismatches=5), plan
    )
    assert (verdict.outcome, verdict.reason) == (Outcome.ROLLBACK, Reason.SHADOW_MISMATCH)
    unchecked = analyse(Signals(cohort(60), cohort(600), 50, 5), PLAN)
    assert unchecked.outcome is Outcome.ADVANCE


def test_books_drift_rolls_back() -> None:
    plan = PLAN.model_copy(update={"limits": CanaryLimits(reconcile_drift=0)})
    verdict = analyse(Signals(cohort(60), cohort(600), drift=2), plan)
    assert verdict.reason is Reason.RECONCILE_DRIFT
    assert analyse(Signals(cohort(60), cohort(600), drift=0), plan).outcome is Outcome.ADVANCE
