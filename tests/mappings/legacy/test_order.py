"""mappings.legacy.order over HTTP: the order object every operation answers with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bridge.settings import AppConfig
from tests.clocks import ManualClock
from tests.factories import SEED_ORDER_REQUEST, demo_app
from tests.legacy_api import Answer, LegacyApi

Reader = Callable[[LegacyApi, int], Awaitable[Answer]]


async def _listed(api: LegacyApi, order_id: int) -> Answer:
    (order,) = (await api.list()).orders
    return Answer(200, {"status": "ok", "order": order})


async def _fetched(api: LegacyApi, order_id: int) -> Answer:
    return await api.get(order_id)


async def _approved(api: LegacyApi, order_id: int) -> Answer:
    return await api.update(order_id, "approved")


READERS = [pytest.param(reader, id=reader.__name__) for reader in (_listed, _fetched, _approved)]

SEED_ORDER_KEYS = {
    "id", "offer_id", "user_id", "quantity", "points", "status", "created_at", "name", "logo",
    "description", "shipping_address",
}  # fmt: skip
"""The keys of the seed's list, get and update response examples."""


async def _pending_order(api: LegacyApi) -> int:
    order_id: int = (await api.create(offer=1, status="pending_approval")).order["id"]
    return order_id


async def _without_points_info(start: Callable[..., Awaitable[LegacyApi]]) -> LegacyApi:
    apps: tuple[AppConfig, ...] = (demo_app(enable_mpoints_info_in_users_api=False),)
    return await start(apps=apps)


async def test_created_at_is_utc_date_and_time_to_the_second(
    timed_api: LegacyApi, clock: ManualClock
) -> None:
    clock.current = datetime(2015, 1, 20, 13, 4, 45, 987654, tzinfo=UTC)
    assert (await timed_api.create()).order["created_at"] == "2015-01-20 13:04:45"


@pytest.mark.parametrize("read", READERS)
async def test_every_operation_shows_the_same_created_at(
    timed_api: LegacyApi, clock: ManualClock, read: Reader
) -> None:
    order_id = await _pending_order(timed_api)
    clock.advance(hours=3)
    assert (await read(timed_api, order_id)).order["created_at"] == "2015-01-20 13:04:45"


async def test_create_shows_available_points_when_the_app_option_is_on(api: LegacyApi) -> None:
    assert (await api.create(offer=1)).order["user"] == {
        "id": "demo-user-1",
        "available_points": 9900,
    }


@pytest.mark.parametrize("read", READERS)
async def test_every_operation_shows_available_points_when_the_option_is_on(
    api: LegacyApi, read: Reader
) -> None:
    order_id = await _pending_order(api)
    assert (await read(api, order_id)).order["user"]["available_points"] == 9900


async def test_create_hides_available_points_when_the_app_option_is_off(
    start_api: Callable[..., Awaitable[LegacyApi]],
) -> None:
    api = await _without_points_info(start_api)
    assert (await api.create(offer=1)).order["user"] == {"id": "demo-user-1"}


@pytest.mark.parametrize("read", READERS)
async def test_every_operation_hides_available_points_when_the_option_is_off(
    start_api: Callable[..., Awaitable[LegacyApi]], read: Reader
) -> None:
    api = await _without_points_info(start_api)
    order_id = await _pending_order(api)
    assert (await read(api, order_id)).order["user"] == {"id": "demo-user-1"}


@pytest.mark.parametrize("read", READERS)
async def test_every_operation_names_the_customer_as_user_id_and_user(
    api: LegacyApi, read: Reader
) -> None:
    order = (await read(api, await _pending_order(api))).order
    assert (order["user_id"], order["user"]["id"]) == ("demo-user-1", "demo-user-1")


async def test_keys_without_a_value_are_left_out(api: LegacyApi) -> None:
    order = (await api.create(offer=3)).order
    assert {"logo", "external_id", "shipping_address"}.isdisjoint(order)


async def test_the_order_carries_the_reward_it_is_for(api: LegacyApi) -> None:
    order = (await api.create(offer=1)).order
    reward = {key: order[key] for key in ("offer_id", "name", "logo", "description", "offer_type")}
    assert reward == {
        "offer_id": 1,
        "name": "Electronic Giftcard",
        "logo": "http://content.sessionm.com/1/2/2/2/giftcard.png",
        "description": "Used at electronic.com",
        "offer_type": "reward",
    }


@pytest.mark.parametrize("read", READERS)
async def test_every_operation_carries_the_seed_example_keys(api: LegacyApi, read: Reader) -> None:
    order_id = (await api.create(offer=2, body=SEED_ORDER_REQUEST)).order["id"]
    assert SEED_ORDER_KEYS.issubset((await read(api, order_id)).order)
