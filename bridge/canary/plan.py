"""Where an automated canary's plan stands, and how a decision moves it. Pure.

States: `running` (decisions are taken each interval), `paused` (no decisions, the step
stays), `rolled_back` (0 %, no decisions until `resume`), `completed` (the last step, 100 %,
reached: the operator makes the canary's target the policy's target). Operator commands win
over the analysis: `pause`, `resume` (a rolled-back canary restarts at the first step),
`promote` (one step now, or straight to 100 % with `full`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from bridge.canary.analysis import Outcome


class Status(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"


class Command(enum.StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"


class CommandRefused(ValueError):
    """An operator command that does not apply to the plan's state (the message says why)."""


@dataclass(frozen=True, slots=True)
class PlanState:
    """One (app, operation)'s plan as the database holds it."""

    step: int
    """Index into the plan's steps; -1 after a rollback (0 %)."""
    percent: float
    status: Status
    version: int
    step_started_at: datetime
    decided_at: datetime

    def due(self, now: datetime, interval_seconds: float) -> bool:
        """Whether the analysis should decide now (running, one interval since the last)."""
        elapsed = (now - self.decided_at).total_seconds()
        return self.status is Status.RUNNING and elapsed >= interval_seconds


def start(steps: tuple[float, ...], now: datetime) -> PlanState:
    """A plan seen for the first time: the first step, running."""
    return _at(steps, 0, Status.RUNNING, 0, now)


def after_analysis(
    state: PlanState, outcome: Outcome, steps: tuple[float, ...], now: datetime
) -> PlanState:
    """The state after an analysis verdict (a hold only records when it decided)."""
    if outcome is Outcome.ROLLBACK:
        return _rolled_back(state, now)
    if outcome is Outcome.ADVANCE:
        return _at(steps, state.step + 1, Status.RUNNING, state.version + 1, now)
    return replace(state, decided_at=now, version=state.version + 1)


def after_command(
    state: PlanState, command: Command, steps: tuple[float, ...], now: datetime, full: bool = False
) -> PlanState:
    """The state after an operator command; CommandRefused when it does not apply."""
    if command is Command.PAUSE:
        if state.status is not Status.RUNNING:
            raise CommandRefused(f"the canary is {state.status.value}, not running")
        return replace(state, status=Status.PAUSED, version=state.version + 1, decided_at=now)
    if command is Command.RESUME:
        if state.status is Status.ROLLED_BACK:
            return _at(steps, 0, Status.RUNNING, state.version + 1, now)
        if state.status is not Status.PAUSED:
            raise CommandRefused(f"the canary is {state.status.value}, not paused or rolled back")
        return replace(state, status=Status.RUNNING, version=state.version + 1, decided_at=now)
    if state.status is Status.COMPLETED:
        raise CommandRefused("the canary is already at its last step")
    target = len(steps) - 1 if full else state.step + 1
    status = Status.PAUSED if state.status is Status.PAUSED else Status.RUNNING
    return _at(steps, target, status, state.version + 1, now)


def _rolled_back(state: PlanState, now: datetime) -> PlanState:
    return PlanState(-1, 0.0, Status.ROLLED_BACK, state.version + 1, now, now)


def _at(
    steps: tuple[float, ...], step: int, status: Status, version: int, now: datetime
) -> PlanState:
    step = min(step, len(steps) - 1)
    if step == len(steps) - 1:
        status = Status.COMPLETED
    return PlanState(step, steps[step], status, version, now, now)
