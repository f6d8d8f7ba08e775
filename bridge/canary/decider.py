"""The decider: each tick, flush this replica's samples, decide what is due, refresh steps.

Every replica runs one (idle while the policy declares no analysed canary: no store access);
the store's locked, interval-checked unit (bridge/canary/store.py) makes sure each plan gets
one decision per interval whichever replica ticks first. Besides the cohorts it reads, per
plan, the shadow's comparisons on the canary's target (when the shadow points there) and the
app's last reconcile run's drift (when the plan has a `reconcile_drift` limit; the reconcile
command records it, bridge/store/reconcile_runs.py). A tick that fails (the store briefly
gone) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from bridge.canary.analysis import Signals, analyse
from bridge.canary.plan import PlanState, after_analysis, start
from bridge.canary.samples import SampleBook
from bridge.canary.steps import CanarySteps
from bridge.canary.store import CanaryStore, Cohorts, Decision
from bridge.clock import Clock
from bridge.cutover.policy import CanaryAnalysis, Operation, OperationPolicy, Policy
from bridge.observability.metrics import Metrics
from bridge.store.reconcile_runs import ReconcileRuns
from bridge.store.shadow_diffs import Scope

MAX_POLL_SECONDS = 1.0

log = structlog.get_logger()


class ShadowCounts(Protocol):
    async def scopes(self, since: datetime, app: str | None = None) -> list[Scope]: ...


@dataclass(frozen=True, slots=True)
class Analysed:
    """One (app, operation) whose canary has an analysis block."""

    app: str
    operation: Operation
    analysis: CanaryAnalysis
    shadowed: bool
    """The shadow compares against the canary's target: its mismatches count."""


def analysed(policy: Policy) -> list[Analysed]:
    found = []
    for (app, operation), entry in sorted(policy.entries.items()):
        if entry.canary is not None and entry.canary.analysis is not None:
            found.append(Analysed(app, operation, entry.canary.analysis, _shadowed(entry)))
    return found


def poll_seconds(plans: list[Analysed]) -> float:
    """A quarter of the shortest interval, at most a second."""
    intervals = [plan.analysis.interval_seconds / 4 for plan in plans]
    return min([MAX_POLL_SECONDS, *intervals])


class Decider:
    def __init__(
        self,
        store: CanaryStore,
        policy: Callable[[], Policy],
        steps: CanarySteps,
        book: SampleBook,
        clock: Clock,
        metrics: Metrics,
        replica: str,
        runs: ReconcileRuns,
        shadow: Callable[[], ShadowCounts | None] = lambda: None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._steps = steps
        self._book = book
        self._clock = clock
        self._metrics = metrics
        self._replica = replica
        self._runs = runs
        self._shadow = shadow

    async def tick(self) -> list[Decision]:
        plans = analysed(self._policy())
        if not plans:  # no automated canary: the store is not touched
            self._book.drain(lambda _app, _operation: None)
            return []
        now = self._clock.now()
        await self._store.record(self._book.drain(self._steps.step_started_at), self._replica, now)
        decisions = []
        for plan in plans:
            decision = await self._decide(plan, now)
            if decision is not None:
                decisions.append(decision)
                self._announce(decision)
        await self._steps.refresh()
        return decisions

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            try:
                await self.tick()
            except Exception as exc:  # the store may be briefly unavailable: log, tick again
                log.warning("canary_tick_failed", error=type(exc).__name__, detail=str(exc))
            await asyncio.sleep(poll_seconds(analysed(self._policy())))

    async def _decide(self, plan: Analysed, now: datetime) -> Decision | None:
        analysis = plan.analysis
        compared, mismatches = await self._shadow_figures(plan, now)
        drift = await self._drift(plan)

        def change(state: PlanState, cohorts: Cohorts) -> tuple[PlanState, str, str, dict] | None:  # type: ignore[type-arg]
            if not state.due(now, analysis.interval_seconds):
                return None
            signals = Signals(cohorts.canary, cohorts.baseline, compared, mismatches, drift)
            verdict = analyse(signals, analysis)
            new = after_analysis(state, verdict.outcome, analysis.steps, now)
            return new, verdict.outcome.value, verdict.reason.value, verdict.figures

        key = (plan.app, plan.operation.value)
        return await self._store.change(key, start(analysis.steps, now), change, self._replica)

    async def _shadow_figures(self, plan: Analysed, now: datetime) -> tuple[int, int]:
        """Compared calls and mismatches of the shadow in the last interval."""
        counts = self._shadow()
        if counts is None or not plan.shadowed:
            return 0, 0
        since = now - timedelta(seconds=plan.analysis.interval_seconds)
        for scope in await counts.scopes(since, plan.app):
            if scope.operation == plan.operation.value and scope.mode == "shadow":
                mismatches = scope.results.get("mismatch", 0)
                return scope.results.get("match", 0) + mismatches, mismatches
        return 0, 0

    async def _drift(self, plan: Analysed) -> int | None:
        """The drift rows of the app's last reconcile run, when the plan limits them (None:
        not limited, or no run yet)."""
        if plan.analysis.limits.reconcile_drift is None:
            return None
        run = await self._runs.last(plan.app)
        return run.drift if run is not None else None

    def _announce(self, decision: Decision) -> None:
        self._metrics.canary_decisions.labels(
            decision.app, decision.operation, decision.outcome, decision.reason
        ).inc()
        emit = log.warning if decision.outcome == "rollback" else log.info
        emit(
            "canary_decided",
            app=decision.app,
            operation=decision.operation,
            outcome=decision.outcome,
            reason=decision.reason,
            from_percent=decision.from_percent,
            to_percent=decision.to_percent,
            version=decision.version,
        )


def _shadowed(entry: OperationPolicy) -> bool:
    return bool(entry.shadow and entry.canary and entry.shadow.target is entry.canary.target)
