"""The shared canary state on SQLite and PostgreSQL: one decision per interval however many
replicas decide, the cohorts of the current step only, and a restart that keeps the step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bridge.canary.analysis import Cohort, Figures, Outcome
from bridge.canary.plan import PlanState, after_analysis, start
from bridge.canary.store import CanaryStore, Cohorts, Sample
from bridge.store import tables as t
from bridge.store.executor import Database, open_database, read_value

pytestmark = pytest.mark.both_engines

STEPS = (1.0, 10.0, 100.0)
KEY = ("acme", "create_order")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def databases(database_url: str) -> AsyncIterator[list[Database]]:
    """Two executors on one database: two replicas."""
    opened = [open_database(database_url), open_database(database_url)]
    yield opened
    for db in opened:
        await db.close()


def advance_when_due(now: datetime, seen: list[Cohorts]):  # type: ignore[no-untyped-def]
    def change(state: PlanState, cohorts: Cohorts) -> tuple[PlanState, str, str, Figures] | None:
        if not state.due(now, 60):
            return None
        seen.append(cohorts)
        return after_analysis(state, Outcome.ADVANCE, STEPS, now), "advance", "healthy", {"n": 1}

    return change


async def test_a_new_plan_starts_at_the_first_step_with_its_audit_row(
    databases: list[Database],
) -> None:
    store = CanaryStore(databases[0])
    decision = await store.change(KEY, start(STEPS, T0), advance_when_due(T0, []), "r1")
    assert decision is None  # just started: not due
    assert (await store.plans())[KEY].percent == 1.0
    [started] = await store.history()
    assert (started.outcome, started.reason, started.to_percent) == ("start", "new_plan", 1.0)


async def test_two_replicas_deciding_at_once_make_one_decision(
    databases: list[Database],
) -> None:
    stores = [CanaryStore(db) for db in databases]
    await stores[0].change(KEY, start(STEPS, T0), advance_when_due(T0, []), "r1")
    now = T0 + timedelta(seconds=60)
    seen: list[Cohorts] = []
    results = await asyncio.gather(
        *(
            store.change(KEY, start(STEPS, now), advance_when_due(now, seen), f"r{i}")
            for i, store in enumerate(stores * 4)
        )
    )
    assert len([result for result in results if result is not None]) == 1
    assert len(seen) == 1
    plans = await stores[1].plans()
    assert (plans[KEY].percent, plans[KEY].version) == (10.0, 1)
    assert [d.outcome for d in await stores[1].history()] == ["advance", "start"]


async def test_the_cohorts_are_the_current_steps_samples_of_every_replica(
    databases: list[Database],
) -> None:
    stores = [CanaryStore(db) for db in databases]
    await stores[0].change(KEY, start(STEPS, T0), advance_when_due(T0, []), "r1")
    canary = Cohort(3, 1, 0, (3,) + (0,) * 50)
    baseline = Cohort(7, 0, 2, (0, 7) + (0,) * 49)
    older = T0 - timedelta(seconds=60)  # a replica still routing by an older step
    await stores[0].record([Sample(*KEY, "canary", canary, older)], "r1", T0)
    for index, store in enumerate(stores):
        at = T0 + timedelta(seconds=10 + index)
        await store.record(
            [Sample(*KEY, "canary", canary, T0), Sample(*KEY, "baseline", baseline, T0)],
            f"r{index}",
            at,
        )
    other = Sample("acme", "list_orders", "canary", canary, T0)
    await stores[1].record([other], "r1", T0 + timedelta(seconds=20))
    seen: list[Cohorts] = []
    now = T0 + timedelta(seconds=60)
    await stores[1].change(KEY, start(STEPS, now), advance_when_due(now, seen), "r1")
    assert seen == [Cohorts(canary.plus(canary), baseline.plus(baseline))]
    remaining = await read_value(
        databases[0], sa.select(sa.func.count()).select_from(t.canary_samples)
    )
    assert remaining == 1  # the other operation's; this plan's older steps are gone


async def test_a_restart_keeps_the_step(database_url: str, databases: list[Database]) -> None:
    now = T0 + timedelta(seconds=60)
    await CanaryStore(databases[0]).change(KEY, start(STEPS, T0), advance_when_due(T0, []), "r1")
    await CanaryStore(databases[0]).change(KEY, start(STEPS, now), advance_when_due(now, []), "r")
    await databases[0].close()
    reopened = open_database(database_url)
    try:
        plans = await CanaryStore(reopened).plans()
    finally:
        await reopened.close()
    assert plans[KEY].percent == 10.0
    assert plans[KEY].step_started_at == now
