"""Order ids correlated through stored pairs (bridge/shadow/correlation.py), on a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.shadow.correlation import Correlator, NotComparable
from bridge.shadow.exchange import Answer, Exchange
from bridge.store.executor import open_database
from bridge.store.shadow_diffs import Comparison, IdPair, ShadowDiffs, Sides
from tests.cutover.conftest import demo_apps

SIDES = Sides("demo", "local", "incentives")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PATH = "/priv/v1/apps/demo-api-key/users/u%2F1/orders"


@pytest.fixture
async def correlator(database_url: str) -> AsyncIterator[Correlator]:
    engine = open_database(database_url)
    diffs = ShadowDiffs(engine)
    for primary, shadow in (("7", "3"), ("8", "4")):
        pair = IdPair(SIDES, primary, shadow)
        await diffs.record(
            Comparison("demo", "create_order", "incentives", "shadow", "match", NOW, pair=pair)
        )
    yield Correlator(diffs)
    await engine.close()


def exchange(operation: Operation, raw_path: str, order_id: str | None, primary: Any) -> Exchange:
    info = {"api_key": "demo-api-key", "user_id": "u/1"}
    if order_id is not None:
        info["order_id"] = order_id
    return Exchange(
        app=demo_apps()[0],
        operation=operation,
        method="GET",
        raw_path=raw_path,
        match_info=info,
        query={},
        headers=(),
        body=b"",
        primary_target=Target.LOCAL,
        primary=Answer(200, orjson.dumps(primary)),
    )


@pytest.mark.parametrize(
    ("named", "path", "sent"),
    [
        ("7", f"{PATH}/7?x=1", f"{PATH}/3?x=1"),
        ("007", f"{PATH}/007", f"{PATH}/3"),  # the primary answered order 7
    ],
)
async def test_a_call_naming_a_paired_order_is_sent_with_the_shadow_id(
    correlator: Correlator, named: str, path: str, sent: str
) -> None:
    call = exchange(Operation.GET_ORDER, path, named, {"status": "ok", "order": {"id": 7}})
    prepared = await correlator.prepare(call, Target.INCENTIVES)
    assert (prepared.raw_path, prepared.match_info["order_id"]) == (sent, "3")
    assert prepared.match_info["user_id"] == "u/1"


async def test_an_order_without_a_pair_is_not_comparable(correlator: Correlator) -> None:
    call = exchange(Operation.GET_ORDER, f"{PATH}/9", "9", {"status": "ok", "order": {"id": 9}})
    with pytest.raises(NotComparable):
        await correlator.prepare(call, Target.INCENTIVES)
    other_side = exchange(
        Operation.GET_ORDER, f"{PATH}/7", "7", {"status": "ok", "order": {"id": 7}}
    )
    with pytest.raises(NotComparable):  # pairs of another shadow target do not apply
        await correlator.prepare(other_side, Target.LEGACY)


async def test_a_list_is_read_back_with_primary_ids_and_unpaired_orders_left_out(
    correlator: Correlator,
) -> None:
    primary = {"status": "ok", "orders": [{"id": 6}, {"id": 7}, {"id": 8}]}
    candidate = {"status": "ok", "orders": [{"id": 3}, {"id": 4}, {"id": 5}]}
    call = exchange(Operation.LIST_ORDERS, PATH, None, primary)
    aligned = await correlator.align(call, Target.INCENTIVES, primary, candidate)
    assert aligned.primary["orders"] == [{"id": 7}, {"id": 8}]
    assert aligned.candidate["orders"] == [{"id": 7}, {"id": 8}]
    assert (aligned.left_out, aligned.comparable) == (2, True)
    lonely = await correlator.align(
        call,
        Target.INCENTIVES,
        {"status": "ok", "orders": [{"id": 6}]},
        {"status": "ok", "orders": [{"id": 5}]},
    )
    assert (lonely.left_out, lonely.comparable) == (2, False)
    empty = await correlator.align(
        call, Target.INCENTIVES, {"status": "ok", "orders": []}, {"status": "ok", "orders": []}
    )
    assert empty.comparable


async def test_a_create_pairs_its_ids_and_a_get_reads_the_shadow_id_back(
    correlator: Correlator,
) -> None:
    created = exchange(Operation.CREATE_ORDER, PATH, None, {})
    aligned = await correlator.align(
        created,
        Target.INCENTIVES,
        {"order": {"id": 11, "name": "a"}},
        {"order": {"id": 2, "name": "a"}},
    )
    assert aligned.candidate == {"order": {"id": 11, "name": "a"}}
    assert aligned.pair == IdPair(SIDES, "11", "2")
    got = exchange(Operation.GET_ORDER, f"{PATH}/7", "7", {})
    read = await correlator.align(
        got, Target.INCENTIVES, {"order": {"id": 7}}, {"order": {"id": 3}}
    )
    assert (read.candidate, read.pair) == ({"order": {"id": 7}}, None)
    refused = await correlator.align(
        created, Target.INCENTIVES, {"order": {"id": 12}}, {"status": "error"}
    )
    assert (refused.candidate, refused.pair) == ({"status": "error"}, None)


def paged(query: dict[str, str], primary: Any) -> Exchange:
    return replace(exchange(Operation.LIST_ORDERS, PATH, None, primary), query=query)


@pytest.mark.parametrize(
    ("query", "mine", "theirs", "kept", "left_out"),
    [
        # an order only the primary has (9) pushes 7 to page 2 there, not on the shadow side
        ({"limit": "2"}, [9, 8], [4, 3], [8], 2),
        # page 2: the shadow side still has 8 (its 4) there, the primary has it on page 1
        ({"limit": "2", "page": "2"}, [7, 6], [4, 3], [7], 2),
        # date bounds: each side stamps its own time, an order may fall out on one side only
        ({"after": "2026-03-01 12:00:00"}, [8, 7], [4], [8], 1),
    ],
)
async def test_a_paired_order_outside_the_other_sides_window_is_left_out(
    correlator: Correlator,
    query: dict[str, str],
    mine: list[int],
    theirs: list[int],
    kept: list[int],
    left_out: int,
) -> None:
    primary = {"status": "ok", "orders": [{"id": n} for n in mine]}
    candidate = {"status": "ok", "orders": [{"id": n} for n in theirs]}
    aligned = await correlator.align(paged(query, primary), Target.INCENTIVES, primary, candidate)
    assert aligned.primary["orders"] == [{"id": n} for n in kept]
    assert aligned.candidate["orders"] == [{"id": n} for n in kept]
    assert aligned.left_out == left_out


@pytest.mark.parametrize("query", [{}, {"limit": "3"}, {"limit": "abc"}])
async def test_a_paired_order_missing_from_a_page_that_holds_every_order_still_shows(
    correlator: Correlator, query: dict[str, str]
) -> None:
    """First page, not full, no date bound: the counterpart has nowhere else to be."""
    primary = {"status": "ok", "orders": [{"id": 8}, {"id": 7}]}
    candidate = {"status": "ok", "orders": [{"id": 4}]}
    aligned = await correlator.align(paged(query, primary), Target.INCENTIVES, primary, candidate)
    assert aligned.primary["orders"] == [{"id": 8}, {"id": 7}]
    assert aligned.candidate["orders"] == [{"id": 8}]
    shadow_only = await correlator.align(
        paged(query, candidate),
        Target.INCENTIVES,
        {"status": "ok", "orders": [{"id": 8}]},
        {"status": "ok", "orders": [{"id": 4}, {"id": 3}]},
    )
    assert shadow_only.candidate["orders"] == [{"id": 8}, {"id": 7}]
