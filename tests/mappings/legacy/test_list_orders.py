"""mappings.legacy.list_orders over HTTP: limit, page, between, before and after."""

from __future__ import annotations

import pytest

from tests.clocks import ManualClock
from tests.legacy_api import LegacyApi


async def _daily_orders(api: LegacyApi, clock: ManualClock, days: int) -> list[int]:
    """One order a day at 13:04:45 from 2015-01-20; their ids, oldest first."""
    ids = []
    for _ in range(days):
        ids.append((await api.create()).order["id"])
        clock.advance(days=1)
    return ids


async def test_limit_bounds_the_page(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    assert (await timed_api.list(limit=2)).ids == [ids[2], ids[1]]


async def test_page_moves_through_the_orders(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    assert (await timed_api.list(limit=2, page=2)).ids == [ids[0]]


async def test_a_page_past_the_end_is_empty(timed_api: LegacyApi, clock: ManualClock) -> None:
    await _daily_orders(timed_api, clock, 2)
    assert (await timed_api.list(limit=2, page=2)).orders == []


async def test_limit_defaults_to_50(timed_api: LegacyApi, clock: ManualClock) -> None:
    await _daily_orders(timed_api, clock, 51)
    assert len((await timed_api.list()).orders) == 50


async def test_between_includes_both_whole_days(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 4)
    assert (await timed_api.list(between="2015-01-21,2015-01-22")).ids == [ids[2], ids[1]]


async def test_between_with_times_is_exact(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    between = "2015-01-20 13:04:45,2015-01-21 13:04:46"
    assert (await timed_api.list(between=between)).ids == [ids[1], ids[0]]


async def test_before_excludes_that_moment(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    assert (await timed_api.list(before="2015-01-21 13:04:45")).ids == [ids[0]]


async def test_after_excludes_that_moment(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    assert (await timed_api.list(after="2015-01-21 13:04:45")).ids == [ids[2]]


async def test_a_date_with_an_offset_is_read_in_utc(
    timed_api: LegacyApi, clock: ManualClock
) -> None:
    ids = await _daily_orders(timed_api, clock, 3)
    assert (await timed_api.list(after="2015-01-21T14:00:00+02:00")).ids == [ids[2], ids[1]]


async def test_after_and_before_combine(timed_api: LegacyApi, clock: ManualClock) -> None:
    ids = await _daily_orders(timed_api, clock, 4)
    answer = await timed_api.list(after="2015-01-20T20:00:00Z", before="2015-01-22")
    assert answer.ids == [ids[1]]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "²"),
        ("page", "0"),
        ("page", "1.5"),
        ("page", "9999999999"),
        ("between", "2015-01-20"),
        ("between", "2015-01-20,2015-01-21,2015-01-22"),
        ("between", "2015-01-20,"),
        ("between", "0001-01-01,9999-12-31"),
        ("before", "yesterday"),
        ("after", "2015-13-01"),
    ],
)
async def test_a_malformed_or_out_of_range_value_is_an_argument_error(
    api: LegacyApi, name: str, value: str
) -> None:
    answer = await api.list(**{name: value})
    assert (answer.code, answer.message.split(" ")[0]) == ("argument_error", name)


async def test_the_largest_limit_is_200(timed_api: LegacyApi) -> None:
    assert (await timed_api.list(limit=200)).orders == []
