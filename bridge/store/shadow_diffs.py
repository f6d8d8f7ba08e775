"""The diff store: shadow comparisons, their field differences and bounded masked samples,
and the order id pairs (primary id -> shadow id) that correlate the two sides' orders.

Values reach this module already masked (bridge/shadow/masking.py) and serialised as JSON
text; the store never sees a request. Samples are bounded per (app, operation, mode, path):
once `samples_per_field` are kept, newer ones are not stored until the reaper removes old
rows (retention). Everything is counted by SQL over a time window, so many replicas can
share one store. A pair holds two order ids and the targets, nothing personal; it is written
in the same unit of work as the comparison of the create that made it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bridge.store import tables as t
from bridge.store.executor import Database, Tx, read_all
from bridge.store.statements import POSTGRESQL, SQLITE, Query


@dataclass(frozen=True, slots=True)
class FieldDifference:
    path: str
    kind: str
    primary: str
    """JSON text of the primary's value, masked."""
    candidate: str


@dataclass(frozen=True, slots=True)
class Sides:
    """Whose orders a pair correlates: one app, its primary target and its shadow target."""

    app: str
    primary_target: str
    shadow_target: str


@dataclass(frozen=True, slots=True)
class IdPair:
    sides: Sides
    primary_id: str
    shadow_id: str


@dataclass(frozen=True, slots=True)
class Comparison:
    app: str
    operation: str
    target: str
    mode: str
    """shadow | calibration"""
    result: str
    """match | mismatch | error | not_comparable"""
    at: datetime
    unmapped_code: str | None = None
    differences: Sequence[FieldDifference] = ()
    pair: IdPair | None = None
    """The order ids a shadowed create produced on both sides, stored with the comparison."""


@dataclass(frozen=True, slots=True)
class FieldCount:
    path: str
    kind: str
    count: int
    sample: tuple[str, str] | None
    """(primary, candidate) JSON text of the newest kept sample."""


@dataclass(slots=True)
class Scope:
    """What the store holds for one (app, operation, mode) in a window."""

    app: str
    operation: str
    mode: str
    results: dict[str, int] = field(default_factory=dict)
    unmapped_codes: dict[str, int] = field(default_factory=dict)
    fields: list[FieldCount] = field(default_factory=list)


ScopeKey = tuple[str, str, str]


_MOST_IDS = 32
"""Ids looked up per statement; a longer page takes several."""
_PAIR_LOOKUPS: dict[tuple[str, int], Query] = {}
"""Pair lookups compiled once per direction and padded id count (1, 2, 4 ... 32): a get or a
list page names its ids on every shadow, and compiling a statement per call cost more than
running it."""


def _padded(count: int) -> int:
    """The smallest power of two holding `count` ids (the last id repeats in the padding)."""
    return 1 << (count - 1).bit_length()


def _pair_lookup(known: sa.Column[str], wanted: sa.Column[str], size: int) -> Query:
    key = (known.name, size)
    found = _PAIR_LOOKUPS.get(key)
    if found is None:
        p = t.shadow_id_pairs
        statement = sa.select(known, wanted).where(
            p.c.app == sa.bindparam("app"),
            p.c.primary_target == sa.bindparam("primary_target"),
            p.c.shadow_target == sa.bindparam("shadow_target"),
            known.in_([sa.bindparam(f"id_{n}") for n in range(size)]),
        )
        found = _PAIR_LOOKUPS[key] = Query(statement)
    return found


class ShadowDiffs:
    def __init__(self, db: Database, samples_per_field: int = 5) -> None:
        self._db = db
        self._samples_per_field = samples_per_field

    async def record(self, comparison: Comparison) -> None:
        """Store one comparison, its differences, and samples where the bound allows."""

        async def unit(tx: Tx) -> None:
            await tx.run(_RECORD_COMPARISON, _comparison(comparison))
            for item in comparison.differences:
                await tx.run(_RECORD_DIFFERENCE, _difference(comparison, item))
            await self._keep_samples(tx, comparison)
            if comparison.pair is not None:
                await _insert_pair(tx, comparison.pair, comparison.at)

        await self._db.write(unit)

    async def shadow_ids(self, sides: Sides, primary_ids: Collection[str]) -> dict[str, str]:
        """The shadow id of each primary id that has a pair."""
        p = t.shadow_id_pairs
        return await self._pairs(sides, p.c.primary_id, p.c.shadow_id, primary_ids)

    async def primary_ids(self, sides: Sides, shadow_ids: Collection[str]) -> dict[str, str]:
        """The primary id of each shadow id that has a pair."""
        p = t.shadow_id_pairs
        return await self._pairs(sides, p.c.shadow_id, p.c.primary_id, shadow_ids)

    async def _pairs(
        self,
        sides: Sides,
        known: sa.Column[str],
        wanted: sa.Column[str],
        values: Collection[str],
    ) -> dict[str, str]:
        ids = sorted(set(values))
        found: dict[str, str] = {}
        for start in range(0, len(ids), _MOST_IDS):
            chunk = ids[start : start + _MOST_IDS]
            size = _padded(len(chunk))
            params = {
                "app": sides.app,
                "primary_target": sides.primary_target,
                "shadow_target": sides.shadow_target,
                **{f"id_{n}": chunk[min(n, len(chunk) - 1)] for n in range(size)},
            }
            query = _pair_lookup(known, wanted, size)
            found.update(
                (str(row[0]), str(row[1])) for row in await read_all(self._db, query, params)
            )
        return found

    async def retire(self, sides: Sides, primary_id: str) -> None:
        """Forget an order's pair: it is no longer compared (bridge/shadow/correlation.py)."""
        p = t.shadow_id_pairs
        statement = sa.delete(p).where(
            p.c.app == sides.app,
            p.c.primary_target == sides.primary_target,
            p.c.shadow_target == sides.shadow_target,
            p.c.primary_id == primary_id,
        )

        async def unit(tx: Tx) -> None:
            await tx.run(statement)

        await self._db.write(unit)

    async def reap(self, older_than: datetime) -> int:
        """Delete every row older than the retention horizon; return how many went."""

        async def unit(tx: Tx) -> int:
            removed = 0
            for table in _REAPED:
                removed += await tx.run(sa.delete(table).where(table.c.created_at < older_than))
            return removed

        return await self._db.write(unit)

    async def scopes(self, since: datetime, app: str | None = None) -> list[Scope]:
        """Per (app, operation, mode): results, unmapped codes, field counts with a sample."""
        found: dict[ScopeKey, Scope] = {}

        def scope(key: ScopeKey) -> Scope:
            return found.setdefault(key, Scope(*key))

        codes = _counted(t.shadow_comparisons, "unmapped_code", since, app).where(
            t.shadow_comparisons.c.unmapped_code.is_not(None)
        )

        async def unit(tx: Tx) -> None:
            for row in await tx.all(_counted(t.shadow_comparisons, "result", since, app)):
                scope((row.app, row.operation, row.mode)).results[row.result] = row.n
            for row in await tx.all(codes):
                scope((row.app, row.operation, row.mode)).unmapped_codes[row.unmapped_code] = row.n
            samples = await self._samples(tx, app)
            for row in await tx.all(_field_counts(since, app)):
                key = (row.app, row.operation, row.mode)
                sample = samples.get((*key, row.path, row.kind))
                scope(key).fields.append(FieldCount(row.path, row.kind, row.n, sample))

        await self._db.read(unit)
        return sorted(found.values(), key=lambda item: (item.app, item.operation, item.mode))

    async def _keep_samples(self, tx: Tx, comparison: Comparison) -> None:
        samples = t.shadow_samples
        seen: set[str] = set()
        for item in comparison.differences:
            if item.path in seen:
                continue
            seen.add(item.path)
            kept = await tx.scalar(
                sa.select(sa.func.count()).where(
                    samples.c.app == comparison.app,
                    samples.c.operation == comparison.operation,
                    samples.c.mode == comparison.mode,
                    samples.c.path == item.path,
                )
            )
            if (kept or 0) < self._samples_per_field:
                values = {
                    **_difference(comparison, item),
                    "primary_value": item.primary,
                    "candidate_value": item.candidate,
                }
                await tx.run(_RECORD_SAMPLE, values)

    async def _samples(
        self, tx: Tx, app: str | None
    ) -> dict[tuple[str, str, str, str, str], tuple[str, str]]:
        """The newest sample of every (app, operation, mode, path, kind)."""
        s = t.shadow_samples
        query = sa.select(s).order_by(s.c.created_at, s.c.id)
        if app is not None:
            query = query.where(s.c.app == app)
        newest: dict[tuple[str, str, str, str, str], tuple[str, str]] = {}
        for row in await tx.all(query):
            key = (row.app, row.operation, row.mode, row.path, row.kind)
            newest[key] = (row.primary_value, row.candidate_value)
        return newest


_RECORD_COMPARISON = Query(sa.insert(t.shadow_comparisons))
_RECORD_DIFFERENCE = Query(sa.insert(t.shadow_differences))
_RECORD_SAMPLE = Query(sa.insert(t.shadow_samples))
_REAPED = (t.shadow_samples, t.shadow_differences, t.shadow_comparisons, t.shadow_id_pairs)
_INSERT_PAIR = {
    SQLITE: Query(sqlite_insert(t.shadow_id_pairs).on_conflict_do_nothing()),
    POSTGRESQL: Query(postgresql_insert(t.shadow_id_pairs).on_conflict_do_nothing()),
}


async def _insert_pair(tx: Tx, pair: IdPair, at: datetime) -> None:
    """Keep the first pair of a primary id (a replayed create answers the same order again)."""
    values = {
        "app": pair.sides.app,
        "primary_target": pair.sides.primary_target,
        "shadow_target": pair.sides.shadow_target,
        "primary_id": pair.primary_id,
        "shadow_id": pair.shadow_id,
        "created_at": at,
    }
    await tx.run(_INSERT_PAIR[tx.engine], values)


def _comparison(comparison: Comparison) -> dict[str, object]:
    return {
        "app": comparison.app,
        "operation": comparison.operation,
        "target": comparison.target,
        "mode": comparison.mode,
        "result": comparison.result,
        "unmapped_code": comparison.unmapped_code,
        "created_at": comparison.at,
    }


def _difference(comparison: Comparison, item: FieldDifference) -> dict[str, object]:
    return {
        "app": comparison.app,
        "operation": comparison.operation,
        "mode": comparison.mode,
        "path": item.path,
        "kind": item.kind,
        "created_at": comparison.at,
    }


def _counted(
    table: sa.Table, column: str, since: datetime, app: str | None
) -> sa.Select[tuple[object, ...]]:
    keys = (table.c.app, table.c.operation, table.c.mode, table.c[column])
    query = (
        sa.select(*keys, sa.func.count().label("n"))
        .where(table.c.created_at >= since)
        .group_by(*keys)
    )
    return query.where(table.c.app == app) if app is not None else query


def _field_counts(since: datetime, app: str | None) -> sa.Select[tuple[object, ...]]:
    d = t.shadow_differences
    keys = (d.c.app, d.c.operation, d.c.mode, d.c.path, d.c.kind)
    query = (
        sa.select(*keys, sa.func.count().label("n"))
        .where(d.c.created_at >= since)
        .group_by(*keys)
        .order_by(sa.func.count().desc(), d.c.path)
    )
    return query.where(d.c.app == app) if app is not None else query
