"""Each `orders-bridge reconcile` run's figures, per app: what the automated canary's
`reconcile_drift` limit reads (bridge/canary/decider.py), shared by every replica.

One row per run (migration 0010), kept as the runs' record: when it finished, how many
customers it checked, the drift rows it found (repaired or not) and the customers it could not
read upstream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa

from bridge.store import tables as t
from bridge.store.executor import Database, change, read_one
from bridge.store.rows import utc
from bridge.store.statements import Query


@dataclass(frozen=True, slots=True)
class ReconcileRun:
    app: str
    at: datetime
    customers: int
    drift: int
    unreadable: int


class ReconcileRuns:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, run: ReconcileRun) -> None:
        await change(self._db, _INSERT, asdict(run))

    async def last(self, app: str) -> ReconcileRun | None:
        """The app's newest run, or None before its first."""
        row = await read_one(self._db, _LAST, {"key_app": app})
        if row is None:
            return None
        return ReconcileRun(row.app, utc(row.at), row.customers, row.drift, row.unreadable)


_r = t.reconcile_runs
_INSERT = Query(sa.insert(_r))
_LAST = Query(
    sa.select(_r.c.app, _r.c.at, _r.c.customers, _r.c.drift, _r.c.unreadable)
    .where(_r.c.app == sa.bindparam("key_app"))
    .order_by(_r.c.at.desc(), _r.c.id.desc())
    .limit(1)
)
