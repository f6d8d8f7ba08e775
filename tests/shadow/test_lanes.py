"""Shadow lanes (bridge/shadow/runner.py `ordering_key`): one customer, one lane, whatever
route each call took, so a get, list or update never overtakes the shadow of the create
it names (it would find no id pair yet and be `not_comparable`, and a skipped update would
leave the shadow's order in another status for every later list)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.runner import ordering_key
from tests.cutover.conftest import demo_apps

PREFIX = "/priv/v1/apps/demo-api-key"
ORDER = {"id": 7, "user_id": "demo-user-1", "status": "approved"}


def exchange(operation: Operation, path: str, info: dict[str, str], primary: Any) -> Exchange:
    return Exchange(
        app=demo_apps()[0],
        operation=operation,
        method="GET",
        raw_path=path,
        match_info={"api_key": "demo-api-key", **info},
        query={},
        headers=(),
        body=b"",
        primary_target=Target.LOCAL,
        primary=Answer(200, orjson.dumps(primary)),
    )


ONE = {"status": "ok", "order": ORDER}
SAME_CUSTOMER = [
    exchange(
        Operation.CREATE_ORDER,
        f"{PREFIX}/external/users/ext-demo-1/offers/1/orders",
        {"external_id": "ext-demo-1", "offer_id": "1"},
        ONE,
    ),
    exchange(
        Operation.CREATE_ORDER,
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        {"user_id": "demo-user-1", "offer_id": "1"},
        ONE,
    ),
    exchange(
        Operation.GET_ORDER,
        f"{PREFIX}/users/demo-user-1/orders/7",
        {"user_id": "demo-user-1", "order_id": "7"},
        ONE,
    ),
    exchange(
        Operation.GET_ORDER,
        f"{PREFIX}/external/users/ext-demo-1/orders/7",
        {"external_id": "ext-demo-1", "order_id": "7"},
        ONE,
    ),
    exchange(Operation.UPDATE_ORDER_STATUS, f"{PREFIX}/orders/7", {"order_id": "7"}, ONE),
    exchange(
        Operation.UPDATE_ORDER_STATUS,
        f"{PREFIX}/external/orders/x-1",
        {"external_order_id": "x-1"},
        ONE,
    ),
    exchange(
        Operation.LIST_ORDERS,
        f"{PREFIX}/external/users/ext-demo-1/orders",
        {"external_id": "ext-demo-1"},
        {"status": "ok", "orders": [ORDER]},
    ),
    exchange(
        Operation.LIST_ORDERS,
        f"{PREFIX}/users/demo-user-1/orders",
        {"user_id": "demo-user-1"},
        {"status": "ok", "orders": []},
    ),
]


@pytest.mark.parametrize("call", SAME_CUSTOMER[1:])
def test_every_route_to_one_customer_takes_the_lane_of_its_create(call: Exchange) -> None:
    assert ordering_key(call) == ordering_key(SAME_CUSTOMER[0])


def test_other_customers_and_refusals_keep_their_own_keys() -> None:
    other = exchange(
        Operation.LIST_ORDERS,
        f"{PREFIX}/users/demo-user-ca/orders",
        {"user_id": "demo-user-ca"},
        {"status": "ok", "orders": []},
    )
    refused = exchange(
        Operation.UPDATE_ORDER_STATUS,
        f"{PREFIX}/orders/9",
        {"order_id": "9"},
        {"status": "error", "errors": {"code": "not_found", "message": "no"}},
    )
    keys = {ordering_key(SAME_CUSTOMER[0]), ordering_key(other), ordering_key(refused)}
    assert len(keys) == 3
