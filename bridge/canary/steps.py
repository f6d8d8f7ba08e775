"""Every replica's view of the shared canary plans: the router's percentages, refreshed.

The decider's tick refreshes it (every `poll` seconds, at most one second), so a decision
taken by any replica reaches every replica's routing within one poll. Until the first read
an analysed canary sends nobody (0 %).
"""

from __future__ import annotations

from datetime import datetime

from bridge.canary.plan import PlanState
from bridge.canary.store import CanaryStore, PlanKey
from bridge.cutover.policy import Operation
from bridge.observability.metrics import Metrics


class CanarySteps:
    def __init__(self, store: CanaryStore, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics
        self._plans: dict[PlanKey, PlanState] = {}

    def percent(self, app: str, operation: Operation) -> float:
        """The router's callable: the plan's current percentage (0 when unknown)."""
        state = self._plans.get((app, operation.value))
        return state.percent if state is not None else 0.0

    def step_started_at(self, app: str, operation: str) -> datetime | None:
        """The step this replica routes (app, operation) by, or None without a plan."""
        state = self._plans.get((app, operation))
        return state.step_started_at if state is not None else None

    def plans(self) -> dict[PlanKey, PlanState]:
        return dict(self._plans)

    async def refresh(self) -> None:
        self._plans = await self._store.plans()
        for (app, operation), state in self._plans.items():
            self._metrics.canary_step.labels(app, operation).set(state.percent)
