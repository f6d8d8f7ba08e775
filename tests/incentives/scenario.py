"""One legacy scenario, run against any bridge: creates, every error case, lists, gets, reviews.

`run_scenario` returns every answer as `(step, HTTP status, body)`; `comparable` sets aside
what legitimately differs between two bridges (order ids and timestamps).
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, basic_auth
from tests.factories import us_address

Step = tuple[str, int, Any]

CUSTOMERS = ("users/demo-user-1", "users/demo-user-ca", "users/demo-user-unregistered")
OFFERS = (1, 2, 3, 4)


def _order_body(offer: int, customer: str) -> dict[str, Any]:
    order: dict[str, Any] = {"quantity": 1, "ip": "198.51.100.7"}
    if offer == 2:
        order["shipping_address"] = us_address()
    if offer == 3 and customer.endswith("-ca"):
        order["challenge"] = {"id": 111111}
    return {"order": order}


ERROR_CASES: tuple[tuple[str, str, Any], ...] = (
    ("unknown user", "users/nobody/offers/1/orders", {"order": {}}),
    ("unknown external user", "external/users/nobody/offers/1/orders", {"order": {}}),
    ("unknown offer", "users/demo-user-1/offers/99/orders", {"order": {}}),
    ("retired offer", "users/demo-user-1/offers/4/orders", {"order": {}}),
    ("no order root", "users/demo-user-1/offers/1/orders", {}),
    ("zero quantity", "users/demo-user-1/offers/1/orders", {"order": {"quantity": 0}}),
    ("over max quantity", "users/demo-user-1/offers/1/orders", {"order": {"quantity": 101}}),
    (
        "not enough points",
        "users/demo-user-1/offers/2/orders",
        {"order": {"quantity": 50, "shipping_address": us_address()}},
    ),
    ("blocked ip", "users/demo-user-1/offers/1/orders", {"order": {"ip": "203.0.113.9"}}),
    ("bad status", "users/demo-user-1/offers/1/orders", {"order": {"status": "approved"}}),
    ("no address", "users/demo-user-1/offers/2/orders", {"order": {}}),
    ("no challenge", "users/demo-user-ca/offers/3/orders", {"order": {}}),
    ("unregistered", "users/demo-user-unregistered/offers/1/orders", {"order": {}}),
)


async def _call(
    client: TestClient[Any, Any], method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = await client.request(method, f"{PREFIX}/{path}", json=body, headers=basic_auth())
    return response.status, await response.json()


async def run_scenario(client: TestClient[Any, Any]) -> list[Step]:
    steps = await _creates(client)
    created = [body["order"]["id"] for _step, _status, body in steps if body["status"] == "ok"]
    steps += await _errors(client)
    steps += await _lists(client)
    for number, order_id in enumerate(created):
        status, body = await _call(client, "GET", f"users/demo-user-1/orders/{order_id}")
        steps.append((f"get #{number}", status, body))
    steps += await _reviews(client, steps)
    for customer in ("users/demo-user-1", "users/demo-user-ca"):
        status, body = await _call(client, "GET", f"{customer}/orders")
        steps.append((f"final list {customer}", status, body))
    return steps


async def _creates(client: TestClient[Any, Any]) -> list[Step]:
    """An order for each demo customer and offer, and one by external ids."""
    steps: list[Step] = []
    for customer in CUSTOMERS:
        for offer in OFFERS:
            path = f"{customer}/offers/{offer}/orders"
            status, body = await _call(client, "POST", path, _order_body(offer, customer))
            steps.append((f"create {path}", status, body))
    request = {"order": {"quantity": 3, "external_id": "integrator-order-1"}}
    status, body = await _call(client, "POST", "external/users/ext-demo-1/offers/1/orders", request)
    steps.append(("create by external id", status, body))
    return steps


async def _errors(client: TestClient[Any, Any]) -> list[Step]:
    steps: list[Step] = []
    for name, path, request in ERROR_CASES:
        status, body = await _call(client, "POST", path, request)
        steps.append((f"error {name}", status, body))
    return steps


LIST_QUERIES = (
    "",
    "?limit=2",
    "?limit=2&page=2",
    "?between=2000-01-01,2100-01-01",
    "?between=2000-01-01,2000-01-02",
    "?after=2000-01-01",
    "?before=2000-01-01",
    "?limit=abc",
)


async def _lists(client: TestClient[Any, Any]) -> list[Step]:
    steps: list[Step] = []
    for query in LIST_QUERIES:
        for customer in ("users/demo-user-1", "external/users/ext-demo-ca"):
            status, body = await _call(client, "GET", f"{customer}/orders{query}")
            steps.append((f"list {customer}{query}", status, body))
    return steps


def _ids_with_status(steps: list[Step], status: str) -> list[int]:
    return [
        body["order"]["id"]
        for step, _code, body in steps
        if step.startswith("create")
        and body["status"] == "ok"
        and body["order"]["status"] == status
    ]


async def _reviews(client: TestClient[Any, Any], steps: list[Step]) -> list[Step]:
    """Approve a pending order, reject another (refund), and try forbidden transitions."""
    pending = _ids_with_status(steps, "pending_approval")
    approved = _ids_with_status(steps, "approved")
    calls = [
        ("approve pending", "PUT", f"orders/{pending[0]}", "approved"),
        ("reject approved", "POST", f"orders/{pending[0]}", "rejected"),
        ("reject pending with refund", "POST", f"orders/{pending[1]}", "rejected"),
        ("reject approved order", "POST", f"orders/{approved[0]}", "rejected"),
        ("unknown status", "PUT", "external/orders/integrator-order-1", "bogus"),
        ("approve by external id", "PUT", "external/orders/integrator-order-1", "approved"),
        ("unknown order", "PUT", "orders/999999", "approved"),
    ]
    answers: list[Step] = []
    for name, method, path, wanted in calls:
        status, body = await _call(client, method, path, {"order": {"status": wanted}})
        answers.append((name, status, body))
    return answers


VOLATILE = frozenset({"id", "created_at"})


def comparable(value: Any) -> Any:
    """The answer with order ids and timestamps set aside."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value
