"""The automated canary's shared state: where each plan stands, its decisions, its samples.

Three tables (migration 0008):

- `canary_plans`: one row per (app, operation) with an analysed canary: the step, its
  percentage, the status, a version raised by every change, when the step started and when
  the last decision was taken. Every replica reads it (bridge/canary/steps.py) and routes by it.
- `canary_decisions`: the audit: every decision (analysis or operator) with when, what
  (outcome, from and to percent, the version it made), why (reason) and the figures.
- `canary_samples`: per-replica aggregates of the cohorts' calls (calls, failures, refusals,
  a latency histogram), one row per flush, tagged with the step (its `step_started_at`) the
  replica routed them by; the analysis sums those of the current step, so calls routed at an
  older step (a replica a poll behind) never count in the new one. A decision that starts a
  new step deletes the older steps' samples in the same unit; decisions are kept (the audit).

One decider at a time: `decide` runs in one write unit that locks the plan's row
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has a single writer) and decides only when an
interval has passed since the row's last decision, so however many replicas tick, each
interval gets one decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bridge.canary.analysis import Cohort, Figures
from bridge.canary.plan import PlanState, Status
from bridge.store import tables as t
from bridge.store.executor import Database, Tx
from bridge.store.statements import POSTGRESQL, SQLITE, Query

PlanKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Sample:
    """One replica's figures of one cohort since its last flush."""

    app: str
    operation: str
    cohort: str
    """canary | baseline"""
    figures: Cohort
    step_started_at: datetime
    """The step the replica routed these calls by (the plan's step_started_at)."""


@dataclass(frozen=True, slots=True)
class Decision:
    app: str
    operation: str
    at: datetime
    outcome: str
    """start | advance | hold | rollback | pause | resume | promote"""
    reason: str
    from_percent: float
    to_percent: float
    version: int
    actor: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class Cohorts:
    canary: Cohort
    baseline: Cohort


Change = Callable[[PlanState, Cohorts], tuple[PlanState, str, str, Figures] | None]
"""Given the locked plan and the step's cohorts: (new state, outcome, reason, figures), or
None to leave the plan as it is."""


class CanaryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, samples: Sequence[Sample], replica: str, at: datetime) -> None:
        """Store one flush of a replica's samples."""
        if not samples:
            return

        async def unit(tx: Tx) -> None:
            for sample in samples:
                await tx.run(_INSERT_SAMPLE, _sample_values(sample, replica, at))

        await self._db.write(unit)

    async def plans(self) -> dict[PlanKey, PlanState]:
        """Every plan's state, as the replicas route by it."""

        async def unit(tx: Tx) -> dict[PlanKey, PlanState]:
            return {(row.app, row.operation): _state(row) for row in await tx.all(_PLANS)}

        return await self._db.read(unit)

    async def change(
        self,
        key: PlanKey,
        first: PlanState,
        change: Change,
        actor: str,
        with_cohorts: bool = True,
    ) -> Decision | None:
        """Lock the plan (creating it as `first` when new, recorded as `start`), let `change`
        decide, and store the new state and the decision together."""

        async def unit(tx: Tx) -> Decision | None:
            row = await self._locked(tx, key, first, actor)
            state = _state(row)
            cohorts = (
                await _cohorts(tx, key, state.step_started_at)
                if with_cohorts
                else Cohorts(Cohort(), Cohort())
            )
            changed = change(state, cohorts)
            if changed is None:
                return None
            new, outcome, reason, figures = changed
            values = _plan_values(key, new)
            changes = {f"new_{name}": values[name] for name in _CHANGING}
            await tx.run(_UPDATE_PLAN, {**changes, **_key(key)})
            decision = Decision(
                *key,
                new.decided_at,
                outcome,
                reason,
                state.percent,
                new.percent,
                new.version,
                actor,
                figures,
            )
            await tx.run(_INSERT_DECISION, _decision_values(decision))
            if new.step_started_at != state.step_started_at:  # the old step's samples are done
                await tx.run(_DROP_SAMPLES, {**_key(key), "step": new.step_started_at})
            return decision

        return await self._db.write(unit)

    async def _locked(self, tx: Tx, key: PlanKey, first: PlanState, actor: str) -> Any:
        row = await tx.first(_LOCK_PLAN, _key(key))
        if row is not None:
            return row
        inserted = await tx.run(_INSERT_PLAN[tx.engine], _plan_values(key, first))
        if inserted:
            start = Decision(
                *key,
                first.decided_at,
                "start",
                "new_plan",
                0.0,
                first.percent,
                first.version,
                actor,
                {},
            )
            await tx.run(_INSERT_DECISION, _decision_values(start))
        return await tx.first(_LOCK_PLAN, _key(key))

    async def history(
        self, app: str | None = None, operation: str | None = None, limit: int = 50
    ) -> list[Decision]:
        """The newest decisions first."""
        d = canary_decisions
        query = sa.select(d).order_by(d.c.at.desc(), d.c.id.desc()).limit(limit)
        if app is not None:
            query = query.where(d.c.app == app)
        if operation is not None:
            query = query.where(d.c.operation == operation)

        async def unit(tx: Tx) -> list[Decision]:
            return [_decision(row) for row in await tx.all(query)]

        return await self._db.read(unit)


async def _cohorts(tx: Tx, key: PlanKey, step_started_at: datetime) -> Cohorts:
    """The sums of the samples routed by the current step, per cohort."""
    totals = {"canary": Cohort(), "baseline": Cohort()}
    rows = await tx.all(_WINDOW, {**_key(key), "step": step_started_at})
    for row in rows:
        figures = Cohort(row.calls, row.failures, row.refusals, tuple(row.latency))
        totals[row.cohort] = totals[row.cohort].plus(figures)
    return Cohorts(totals["canary"], totals["baseline"])


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _state(row: Any) -> PlanState:
    return PlanState(
        row.step,
        row.percent,
        Status(row.status),
        row.version,
        _utc(row.step_started_at),
        _utc(row.decided_at),
    )


def _decision(row: Any) -> Decision:
    return Decision(
        row.app,
        row.operation,
        _utc(row.at),
        row.outcome,
        row.reason,
        row.from_percent,
        row.to_percent,
        row.version,
        row.actor,
        dict(row.figures),
    )


def _key(key: PlanKey) -> dict[str, str]:
    return {"key_app": key[0], "key_operation": key[1]}


def _plan_values(key: PlanKey, state: PlanState) -> dict[str, object]:
    return {
        "app": key[0],
        "operation": key[1],
        "step": state.step,
        "percent": state.percent,
        "status": state.status.value,
        "version": state.version,
        "step_started_at": state.step_started_at,
        "decided_at": state.decided_at,
    }


def _decision_values(decision: Decision) -> dict[str, object]:
    return {
        "app": decision.app,
        "operation": decision.operation,
        "at": decision.at,
        "outcome": decision.outcome,
        "reason": decision.reason,
        "from_percent": decision.from_percent,
        "to_percent": decision.to_percent,
        "version": decision.version,
        "actor": decision.actor,
        "figures": decision.figures,
    }


def _sample_values(sample: Sample, replica: str, at: datetime) -> dict[str, object]:
    return {
        "app": sample.app,
        "operation": sample.operation,
        "cohort": sample.cohort,
        "replica": replica,
        "at": at,
        "step_started_at": sample.step_started_at,
        "calls": sample.figures.calls,
        "failures": sample.figures.failures,
        "refusals": sample.figures.refusals,
        "latency": list(sample.figures.latency),
    }


canary_plans, canary_decisions, canary_samples = (
    t.canary_plans,
    t.canary_decisions,
    t.canary_samples,
)
_p, _s = canary_plans, canary_samples
_CHANGING = ("step", "percent", "status", "version", "step_started_at", "decided_at")
_IS_KEY = sa.and_(
    _p.c.app == sa.bindparam("key_app"), _p.c.operation == sa.bindparam("key_operation")
)
_PLANS = Query(sa.select(_p))
_LOCK_PLAN = Query(sa.select(_p).where(_IS_KEY).with_for_update())
_UPDATE_PLAN = Query(
    sa.update(_p)
    .where(_IS_KEY)
    .values({name: sa.bindparam(f"new_{name}", type_=_p.c[name].type) for name in _CHANGING})
)
_INSERT_PLAN = {
    SQLITE: Query(sqlite_insert(_p).on_conflict_do_nothing()),
    POSTGRESQL: Query(postgresql_insert(_p).on_conflict_do_nothing()),
}
_INSERT_DECISION = Query(sa.insert(canary_decisions))
_INSERT_SAMPLE = Query(sa.insert(_s))
_WINDOW = Query(
    sa.select(_s.c.cohort, _s.c.calls, _s.c.failures, _s.c.refusals, _s.c.latency).where(
        _s.c.app == sa.bindparam("key_app"),
        _s.c.operation == sa.bindparam("key_operation"),
        _s.c.step_started_at == sa.bindparam("step", type_=t.UtcDateTime),
    )
)
_DROP_SAMPLES = Query(
    sa.delete(_s).where(
        _s.c.app == sa.bindparam("key_app"),
        _s.c.operation == sa.bindparam("key_operation"),
        _s.c.step_started_at < sa.bindparam("step", type_=t.UtcDateTime),
    )
)
