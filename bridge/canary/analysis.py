"""The canary analysis: one interval's figures of both cohorts in, a verdict out. Pure.

The canary cohort is the calls the router sent to the canary target (`route.canary`), the
baseline the same app and operation's other calls, on the policy's target. Checks, each
one-sided at the plan's `confidence` (a canary is rolled back only when the figures show it
worse beyond the limit, not when a tiny count happens to look worse):

- failures (legacy codes meaning the bridge or its upstream failed, `FAILURE_CODES`; a
  business refusal such as `offer_not_available` is not one): the lower confidence bound of
  the difference canary minus baseline, by Newcombe's hybrid score interval (Newcombe 1998,
  "Interval estimation for the difference between independent proportions", Statistics in
  Medicine 17:873-890, method 10, built from Wilson score intervals), above
  `error_ratio_increase`. Without baseline calls, the canary's own Wilson lower bound.
- latency: the canary's p99 over the baseline's (interpolated in `LATENCY_BOUNDS`) above
  `p99_ratio`, and the canary slower by a one-sided Mann-Whitney U test on the binned samples
  (normal approximation with the tie correction and a continuity correction, as in Hollander &
  Wolfe, "Nonparametric Statistical Methods", ch. 4). Judged once both cohorts have
  `min_calls`: a p99 of a few calls is noise.
- shadow mismatches: the Wilson lower bound of mismatches over compared calls on the
  canary's target above `shadow_mismatch_ratio`.
- books drift: the last reconcile run's drift rows above `reconcile_drift`.

A failing check rolls back whatever the counts (the tests guard small counts themselves);
the canary advances only when both cohorts have `min_calls` and nothing failed, otherwise
it holds.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from bridge.cutover.policy import CanaryAnalysis

FAILURE_CODES = frozenset({"not_available", "internal_server_error"})
"""Legacy error codes that mean the bridge or its upstream failed (not a business refusal)."""

LATENCY_BOUNDS: tuple[float, ...] = tuple(round(0.001 * 1.25**k, 6) for k in range(50))
"""Upper bounds (seconds) of the latency bins, 1 ms to about 56 s, 25 % apart; one more bin
holds everything slower."""

Figures = dict[str, float | int | None]


class Outcome(enum.StrEnum):
    ADVANCE = "advance"
    HOLD = "hold"
    ROLLBACK = "rollback"


class Reason(enum.StrEnum):
    """Why a decision was taken: a small fixed vocabulary (a metric label)."""

    HEALTHY = "healthy"
    NOT_ENOUGH_DATA = "not_enough_data"
    ERROR_RATIO = "error_ratio"
    LATENCY = "latency"
    SHADOW_MISMATCH = "shadow_mismatch"
    RECONCILE_DRIFT = "reconcile_drift"
    OPERATOR = "operator"


def latency_bin(seconds: float) -> int:
    """The index of the bin a duration falls in (len(LATENCY_BOUNDS) for the slowest)."""
    if seconds <= LATENCY_BOUNDS[0]:
        return 0
    index = math.ceil(math.log(seconds / LATENCY_BOUNDS[0], 1.25) - 1e-9)
    return min(max(index, 0), len(LATENCY_BOUNDS))


@dataclass(frozen=True, slots=True)
class Cohort:
    """One cohort's calls in the window: counts and the latency histogram."""

    calls: int = 0
    failures: int = 0
    refusals: int = 0
    latency: tuple[int, ...] = field(default=(0,) * (len(LATENCY_BOUNDS) + 1))

    def plus(self, other: Cohort) -> Cohort:
        return Cohort(
            self.calls + other.calls,
            self.failures + other.failures,
            self.refusals + other.refusals,
            tuple(a + b for a, b in zip(self.latency, other.latency, strict=True)),
        )


@dataclass(frozen=True, slots=True)
class Signals:
    """Everything one analysis reads."""

    canary: Cohort
    baseline: Cohort
    shadow_compared: int = 0
    shadow_mismatches: int = 0
    drift: int | None = None
    """Drift rows of the app's last reconcile run (None: no run, or the plan sets no limit)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: Reason
    figures: Figures


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """The Wilson score interval of a proportion at normal quantile `z` (0..1 without trials)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def increase_lower_bound(canary: Cohort, baseline: Cohort, z: float) -> float:
    """Lower confidence bound of (canary - baseline) failure ratio (Newcombe's method 10)."""
    low_c, _ = wilson(canary.failures, canary.calls, z)
    if baseline.calls == 0:
        return low_c
    _, high_b = wilson(baseline.failures, baseline.calls, z)
    p_c = canary.failures / canary.calls if canary.calls else 0.0
    p_b = baseline.failures / baseline.calls
    return (p_c - p_b) - math.sqrt((p_c - low_c) ** 2 + (high_b - p_b) ** 2)


def quantile(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile of a binned sample, interpolated inside its bin (None when empty)."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS[index - 1] if index else 0.0
            upper = LATENCY_BOUNDS[min(index, len(LATENCY_BOUNDS) - 1)]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return LATENCY_BOUNDS[-1]


def slower_p_value(canary: Sequence[int], baseline: Sequence[int]) -> float:
    """One-sided Mann-Whitney U p-value that the canary's latencies are stochastically larger."""
    n_c, n_b = sum(canary), sum(baseline)
    total = n_c + n_b
    if n_c == 0 or n_b == 0:
        return 1.0
    u = 0.0
    below = 0
    ties = 0.0
    for count_c, count_b in zip(canary, baseline, strict=True):
        u += count_c * (below + 0.5 * count_b)
        below += count_b
        tied = count_c + count_b
        ties += tied**3 - tied
    variance = n_c * n_b / 12 * ((total + 1) - ties / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n_c * n_b / 2 - 0.5) / math.sqrt(variance)
    return 1 - NormalDist().cdf(z)


def analyse(signals: Signals, plan: CanaryAnalysis) -> Verdict:
    """Advance, hold or roll back, with the figures that decided it."""
    z = NormalDist().inv_cdf(plan.confidence)
    figures = _figures(signals, z)
    failed = _failed_check(signals, plan, figures)
    if failed is not None:
        return Verdict(Outcome.ROLLBACK, failed, figures)
    enough = min(signals.canary.calls, signals.baseline.calls) >= plan.min_calls
    if not enough:
        return Verdict(Outcome.HOLD, Reason.NOT_ENOUGH_DATA, figures)
    return Verdict(Outcome.ADVANCE, Reason.HEALTHY, figures)


def _figures(signals: Signals, z: float) -> Figures:
    canary, baseline = signals.canary, signals.baseline
    p99_c, p99_b = quantile(canary.latency, 0.99), quantile(baseline.latency, 0.99)
    return {
        "canary_calls": canary.calls,
        "canary_failures": canary.failures,
        "canary_refusals": canary.refusals,
        "baseline_calls": baseline.calls,
        "baseline_failures": baseline.failures,
        "baseline_refusals": baseline.refusals,
        "failure_increase_lower": round(increase_lower_bound(canary, baseline, z), 6),
        "canary_p99_seconds": _rounded(p99_c),
        "baseline_p99_seconds": _rounded(p99_b),
        "p99_ratio": round(p99_c / p99_b, 4) if p99_c is not None and p99_b else None,
        "slower_p_value": round(slower_p_value(canary.latency, baseline.latency), 6),
        "shadow_compared": signals.shadow_compared,
        "shadow_mismatches": signals.shadow_mismatches,
        "mismatch_lower": round(
            wilson(signals.shadow_mismatches, signals.shadow_compared, z)[0], 6
        ),
        "drift": signals.drift,
    }


def _failed_check(signals: Signals, plan: CanaryAnalysis, figures: Figures) -> Reason | None:
    """The first limit the figures break, or None."""
    limits = plan.limits
    if _above(figures["failure_increase_lower"], limits.error_ratio_increase):
        return Reason.ERROR_RATIO
    if _above(figures["mismatch_lower"], limits.shadow_mismatch_ratio):
        return Reason.SHADOW_MISMATCH
    if _above(signals.drift, limits.reconcile_drift):
        return Reason.RECONCILE_DRIFT
    enough = min(signals.canary.calls, signals.baseline.calls) >= plan.min_calls
    slower = _below(figures["slower_p_value"], 1 - plan.confidence)
    if enough and slower and _above(figures["p99_ratio"], limits.p99_ratio):
        return Reason.LATENCY
    return None


def _rounded(seconds: float | None) -> float | None:
    """To the microsecond (an interpolated quantile carries float noise past it)."""
    return round(seconds, 6) if seconds is not None else None


def _above(value: float | int | None, limit: float | int | None) -> bool:
    return value is not None and limit is not None and value > limit


def _below(value: float | int | None, limit: float) -> bool:
    return value is not None and value < limit
