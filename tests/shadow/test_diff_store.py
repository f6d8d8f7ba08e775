"""The diff store on SQLite and PostgreSQL: counts per window, bounded samples, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bridge.store.executor import open_database
from bridge.store.shadow_diffs import (
    Comparison,
    FieldCount,
    FieldDifference,
    IdPair,
    ShadowDiffs,
    Sides,
)

pytestmark = pytest.mark.both_engines

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def diffs(database_url: str) -> AsyncIterator[ShadowDiffs]:
    engine = open_database(database_url)
    yield ShadowDiffs(engine, samples_per_field=2)
    await engine.close()


def mismatch(at: datetime, candidate: int, mode: str = "shadow") -> Comparison:
    points = FieldDifference("orders[].points", "value", "100", str(candidate))
    return Comparison("demo", "list_orders", "local", mode, "mismatch", at, None, [points])


async def test_results_fields_and_newest_sample_are_counted_per_scope(
    diffs: ShadowDiffs,
) -> None:
    await diffs.record(Comparison("demo", "list_orders", "local", "shadow", "match", NOW))
    await diffs.record(mismatch(NOW, 101))
    await diffs.record(mismatch(NOW + timedelta(seconds=1), 102))
    [scope] = await diffs.scopes(NOW - timedelta(hours=1))
    assert (scope.app, scope.operation, scope.mode) == ("demo", "list_orders", "shadow")
    assert scope.results == {"match": 1, "mismatch": 2}
    assert scope.fields == [FieldCount("orders[].points", "value", 2, ("100", "102"))]


async def test_samples_per_field_are_bounded(diffs: ShadowDiffs) -> None:
    for offset in range(5):
        await diffs.record(mismatch(NOW + timedelta(seconds=offset), 101 + offset))
    [scope] = await diffs.scopes(NOW - timedelta(hours=1))
    assert scope.fields[0].count == 5
    assert scope.fields[0].sample == ("100", "102")  # the two kept are the first two


async def test_the_window_leaves_out_older_comparisons(diffs: ShadowDiffs) -> None:
    await diffs.record(mismatch(NOW - timedelta(days=2), 101))
    await diffs.record(mismatch(NOW, 102))
    [scope] = await diffs.scopes(NOW - timedelta(days=1))
    assert scope.results == {"mismatch": 1}


async def test_unmapped_codes_are_counted(diffs: ShadowDiffs) -> None:
    failed = Comparison("demo", "get_order", "incentives", "shadow", "mismatch", NOW, "weird")
    await diffs.record(failed)
    [scope] = await diffs.scopes(NOW - timedelta(hours=1), app="demo")
    assert scope.unmapped_codes == {"weird": 1}


async def test_the_reaper_deletes_rows_past_retention_only(diffs: ShadowDiffs) -> None:
    await diffs.record(mismatch(NOW - timedelta(days=30), 101))
    await diffs.record(mismatch(NOW, 102))
    removed = await diffs.reap(NOW - timedelta(days=14))
    [scope] = await diffs.scopes(NOW - timedelta(days=60))
    assert removed == 3  # the old comparison, its difference and its sample
    assert scope.results == {"mismatch": 1}
    assert scope.fields[0].sample == ("100", "102")


async def test_calibration_is_a_scope_of_its_own(diffs: ShadowDiffs) -> None:
    await diffs.record(mismatch(NOW, 101, mode="calibration"))
    await diffs.record(mismatch(NOW, 102))
    scopes = await diffs.scopes(NOW - timedelta(hours=1))
    assert [(scope.mode, scope.results) for scope in scopes] == [
        ("calibration", {"mismatch": 1}),
        ("shadow", {"mismatch": 1}),
    ]


SIDES = Sides("demo", "local", "incentives")


def created(primary_id: str, shadow_id: str, sides: Sides = SIDES) -> Comparison:
    pair = IdPair(sides, primary_id, shadow_id)
    return Comparison(
        "demo", "create_order", sides.shadow_target, "shadow", "match", NOW, pair=pair
    )


async def test_id_pairs_are_stored_with_their_comparison_and_read_both_ways(
    diffs: ShadowDiffs,
) -> None:
    await diffs.record(created("7", "3"))
    await diffs.record(created("8", "4"))
    await diffs.record(created("7", "99"))  # a replayed create: the first pair stays
    other = Sides("demo", "legacy", "incentives")  # another primary numbers other orders
    await diffs.record(created("7", "50", other))
    assert await diffs.shadow_ids(SIDES, ["7", "8", "9"]) == {"7": "3", "8": "4"}
    assert await diffs.primary_ids(SIDES, ["3", "4", "99"]) == {"3": "7", "4": "8"}
    assert await diffs.shadow_ids(other, ["7"]) == {"7": "50"}
    assert await diffs.shadow_ids(SIDES, []) == {}
    [scope] = await diffs.scopes(NOW - timedelta(hours=1))
    assert scope.results == {"match": 4}


async def test_not_comparable_is_an_outcome_of_its_own_and_pairs_are_reaped(
    diffs: ShadowDiffs,
) -> None:
    await diffs.record(Comparison("demo", "get_order", "local", "shadow", "not_comparable", NOW))
    await diffs.record(created("7", "3"))
    scopes = {scope.operation: scope.results for scope in await diffs.scopes(NOW)}
    assert scopes == {"get_order": {"not_comparable": 1}, "create_order": {"match": 1}}
    assert await diffs.reap(NOW + timedelta(seconds=1)) == 3
    assert await diffs.shadow_ids(SIDES, ["7"]) == {}


async def test_a_page_of_ids_longer_than_one_lookup_is_read_whole(diffs: ShadowDiffs) -> None:
    for n in range(1, 41):  # 40 ids: one lookup of 32, one of 8 (padded lookups, cached)
        await diffs.record(created(str(n), str(100 + n)))
    wanted = [str(n) for n in range(1, 46)]  # five have no pair
    assert await diffs.shadow_ids(SIDES, wanted) == {str(n): str(100 + n) for n in range(1, 41)}
    assert await diffs.primary_ids(SIDES, ["103", "105", "105", "999"]) == {"103": "3", "105": "5"}
