"""Operator commands on an automated canary: they win over the analysis, and are audited.

`pause`, `resume` and `promote [full]` change the shared plan in the same locked unit the
decider uses (bridge/canary/store.py), with reason `operator` and the operator's name.
"""

from __future__ import annotations

from datetime import datetime

from bridge.canary.analysis import Figures, Reason
from bridge.canary.plan import Command, PlanState, after_command, start
from bridge.canary.store import CanaryStore, Cohorts, Decision, PlanKey
from bridge.cutover.policy import CanaryAnalysis


async def command(
    store: CanaryStore,
    key: PlanKey,
    analysis: CanaryAnalysis,
    what: Command,
    now: datetime,
    actor: str,
    full: bool = False,
) -> Decision:
    """Apply `what` to the plan now; CommandRefused when it does not apply."""

    def change(state: PlanState, _cohorts: Cohorts) -> tuple[PlanState, str, str, Figures]:
        new = after_command(state, what, analysis.steps, now, full)
        return new, what.value, Reason.OPERATOR.value, {"full": int(full)}

    decision = await store.change(key, start(analysis.steps, now), change, actor, False)
    if decision is None:  # pragma: no cover - change never declines
        raise RuntimeError("the command changed nothing")
    return decision
