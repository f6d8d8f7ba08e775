"""SessionM's iOS SDK order model (`SMOrder`) over every kind of answer, on both targets.

The iOS SDK calls SessionM's mobile API, not this one, but `SMOrder` is SessionM's own model
of the same order object; an answer it cannot read is one no SessionM-shaped model can.
"""

from __future__ import annotations

from typing import Any

from tests.clients.models import IosOrder
from tests.factories import us_address
from tests.legacy_api import LegacyApi

USER = "users/demo-user-1"


def read_all(orders: list[dict[str, Any]]) -> list[IosOrder]:
    return [IosOrder.read(order) for order in orders]


async def test_created_orders_read_with_the_ios_model(target_api: LegacyApi) -> None:
    reward = IosOrder.read((await target_api.create(offer=1)).order)
    physical = IosOrder.read(
        (await target_api.create(offer=2, shipping_address=us_address())).order
    )
    no_logo = IosOrder.read((await target_api.create(offer=3)).order)
    assert (reward.status, physical.status) == ("approved", "pending_approval")
    assert reward.logo_url is not None
    assert no_logo.logo_url is None
    assert physical.shipping_address == us_address()
    assert reward.user is not None
    assert reward.user.user_id == "demo-user-1"


async def test_listed_fetched_and_updated_orders_read_with_the_ios_model(
    target_api: LegacyApi,
) -> None:
    pending = await target_api.create(offer=2, shipping_address=us_address())
    order_id = pending.order["id"]
    listed = read_all((await target_api.list(customer=USER)).orders)
    fetched = IosOrder.read((await target_api.get(order_id, customer=USER)).order)
    updated = IosOrder.read((await target_api.update(order_id, "approved")).order)
    assert [order.order_id for order in listed] == [str(order_id)]
    assert (fetched.status, updated.status) == ("pending_approval", "approved")
    assert (updated.quantity, updated.points) == (1, 2000)


async def test_a_rejected_order_reads_with_the_ios_model(target_api: LegacyApi) -> None:
    pending = await target_api.create(offer=2, shipping_address=us_address())
    rejected = IosOrder.read((await target_api.update(pending.order["id"], "rejected")).order)
    assert rejected.status == "rejected"
