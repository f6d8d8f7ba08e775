"""The plan's states: analysis verdicts move it, operator commands win."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.canary.analysis import Outcome
from bridge.canary.plan import Command, CommandRefused, Status, after_analysis, after_command, start

STEPS = (1.0, 10.0, 50.0, 100.0)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_advances_through_every_step_to_completed() -> None:
    state = start(STEPS, T0)
    seen = [state.percent]
    for _ in range(5):
        if state.status is Status.COMPLETED:
            break
        state = after_analysis(state, Outcome.ADVANCE, STEPS, T0)
        seen.append(state.percent)
    assert seen == list(STEPS)
    assert state.status is Status.COMPLETED
    assert not state.due(T0 + timedelta(days=1), 60)


def test_hold_keeps_the_step_and_waits_another_interval() -> None:
    state = after_analysis(start(STEPS, T0), Outcome.HOLD, STEPS, T0 + timedelta(seconds=60))
    assert (state.step, state.percent, state.version) == (0, 1.0, 1)
    assert not state.due(T0 + timedelta(seconds=119), 60)
    assert state.due(T0 + timedelta(seconds=120), 60)


def test_rollback_goes_to_zero_and_stops_deciding_until_resumed() -> None:
    state = after_analysis(start(STEPS, T0), Outcome.ADVANCE, STEPS, T0)
    state = after_analysis(state, Outcome.ROLLBACK, STEPS, T0)
    assert (state.percent, state.status) == (0.0, Status.ROLLED_BACK)
    assert not state.due(T0 + timedelta(days=1), 60)
    resumed = after_command(state, Command.RESUME, STEPS, T0)
    assert (resumed.percent, resumed.status) == (1.0, Status.RUNNING)


def test_pause_stops_decisions_and_resume_restarts_them() -> None:
    paused = after_command(start(STEPS, T0), Command.PAUSE, STEPS, T0)
    assert not paused.due(T0 + timedelta(days=1), 60)
    with pytest.raises(CommandRefused):
        after_command(paused, Command.PAUSE, STEPS, T0)
    assert after_command(paused, Command.RESUME, STEPS, T0).due(T0 + timedelta(seconds=60), 60)


def test_promote_one_step_or_full_and_keeps_a_pause() -> None:
    paused = after_command(start(STEPS, T0), Command.PAUSE, STEPS, T0)
    promoted = after_command(paused, Command.PROMOTE, STEPS, T0)
    assert (promoted.percent, promoted.status) == (10.0, Status.PAUSED)
    full = after_command(promoted, Command.PROMOTE, STEPS, T0, full=True)
    assert (full.percent, full.status) == (100.0, Status.COMPLETED)
    with pytest.raises(CommandRefused):
        after_command(full, Command.PROMOTE, STEPS, T0)
