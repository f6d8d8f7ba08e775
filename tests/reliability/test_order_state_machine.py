"""Hypothesis stateful test: any sequence of order calls keeps the books exact.

Rules drive a real bridge (local target, real SQLite store from a template) through its legacy
HTTP surface: create (with or without an Idempotency-Key), retry a key, approve, reject, and
two creates with one new key at the same time. After every step the store itself is read:

- no balance and no stock is ever negative;
- no key ever has more than one order, and each answered order exists once;
- every balance is exactly the initial one minus the points of its orders not rejected, and
  every stock the initial one minus the quantities of its orders not rejected (refunds exact).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from prometheus_client import CollectorRegistry

from bridge.app import create_app
from bridge.settings import Settings
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import fresh_store
from tests.factories import demo_app, load_demo_data

CUSTOMERS = {"u1": 500, "u2": 250}
OFFERS = {1: (100, 4), 2: (70, 3)}
"""offer id -> (points, stock)."""
KEYS = [f"key-{index}" for index in range(4)]


async def template(directory: Path, email_key: str) -> Path:
    path = directory / "template.db"
    url = await fresh_store(path, email_key, demo=False)
    await load_demo_data(
        url,
        email_key,
        customers=[
            {"id": name, "country": "US", "registered": True, "points": points}
            for name, points in CUSTOMERS.items()
        ],
        offers=[
            {"id": 1, "name": "Held", "offer_type": "reward", "points": 100, "inventory": 4,
             "review": "review"},
            {"id": 2, "name": "Instant", "offer_type": "reward", "points": 70, "inventory": 3,
             "review": "approve"},
        ],
    )  # fmt: skip
    return path


class OrderBooks(RuleBasedStateMachine):
    template: ClassVar[Path]
    email_key: ClassVar[str]
    runs: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        OrderBooks.runs += 1
        self.database = self.template.with_name(f"run-{OrderBooks.runs}.db")
        shutil.copy(self.template, self.database)
        self.runner = asyncio.Runner()
        self.client: TestClient[Any, Any] = self.runner.run(self._start())
        self.bodies: dict[str, tuple[str, int, int]] = {}
        """key -> the (customer, offer, quantity) first sent with it."""
        self.orders: set[int] = set()

    async def _start(self) -> TestClient[Any, Any]:
        settings_ = Settings(
            database_url=f"sqlite:///{self.database}",
            apps=(demo_app(velocity=None),),
            email_keys=(self.email_key,),
        )
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(settings_, registry=CollectorRegistry()))
        )
        await client.start_server()
        return client

    def teardown(self) -> None:
        self.runner.run(self.client.close())
        self.runner.close()

    async def _create(self, customer: str, offer: int, quantity: int, key: str | None) -> Any:
        headers = {**basic_auth(), **({"Idempotency-Key": key} if key else {})}
        answer = await self.client.post(
            f"{PREFIX}/users/{customer}/offers/{offer}/orders",
            json={"order": {"quantity": quantity}},
            headers=headers,
        )
        body = await answer.json()
        assert answer.status < 500, body
        if body["status"] == "ok":
            self.orders.add(body["order"]["id"])
        return body

    @rule(
        customer=st.sampled_from(sorted(CUSTOMERS)),
        offer=st.sampled_from(sorted(OFFERS)),
        quantity=st.integers(1, 3),
        key=st.none() | st.sampled_from(KEYS),
    )
    def create(self, customer: str, offer: int, quantity: int, key: str | None) -> None:
        if key is not None:
            self.bodies.setdefault(key, (customer, offer, quantity))
        body = self.runner.run(self._create(customer, offer, quantity, key))
        if key is not None and self.bodies[key] != (customer, offer, quantity):
            assert body["status"] == "error"

    @precondition(lambda self: bool(self.bodies))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.bodies)))
        self.runner.run(self._create(*self.bodies[key], key))

    @rule(
        customer=st.sampled_from(sorted(CUSTOMERS)),
        offer=st.sampled_from(sorted(OFFERS)),
        index=st.integers(0, 10**6),
    )
    def concurrent_duplicate(self, customer: str, offer: int, index: int) -> None:
        key = f"together-{index}"
        self.bodies.setdefault(key, (customer, offer, 1))
        body = self.bodies[key]

        async def both() -> None:
            await asyncio.gather(self._create(*body, key), self._create(*body, key))

        self.runner.run(both())

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), status=st.sampled_from(["approved", "rejected"]))
    def review(self, data: st.DataObject, status: str) -> None:
        order = data.draw(st.sampled_from(sorted(self.orders)))

        async def update() -> None:
            answer = await self.client.put(
                f"{PREFIX}/orders/{order}",
                json={"order": {"status": status}},
                headers=basic_auth(),
            )
            assert answer.status < 500, await answer.text()

        self.runner.run(update())

    def _rows(self, query: str) -> list[Any]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(query).fetchall()

    @invariant()
    def nothing_negative(self) -> None:
        assert self._rows("SELECT balance FROM points_accounts WHERE balance < 0") == []
        assert self._rows("SELECT id FROM offers WHERE inventory < 0") == []

    @invariant()
    def one_order_per_key(self) -> None:
        keyed = self._rows(
            "SELECT order_id, COUNT(*) FROM idempotency_keys WHERE order_id IS NOT NULL "
            "GROUP BY order_id HAVING COUNT(*) > 1"
        )
        assert keyed == []
        stored = {row[0] for row in self._rows("SELECT id FROM orders")}
        assert stored == self.orders

    @invariant()
    def refunds_are_exact(self) -> None:
        spent = dict.fromkeys(CUSTOMERS, 0)
        taken = dict.fromkeys(OFFERS, 0)
        for customer, offer, quantity, points in self._rows(
            "SELECT customer_id, offer_id, quantity, points FROM orders WHERE status != 'rejected'"
        ):
            spent[customer] += points
            taken[offer] += quantity
        balances = dict(self._rows("SELECT customer_id, balance FROM points_accounts"))
        stock = dict(self._rows("SELECT id, inventory FROM offers"))
        assert balances == {name: CUSTOMERS[name] - spent[name] for name in CUSTOMERS}
        assert stock == {offer: OFFERS[offer][1] - taken[offer] for offer in OFFERS}


@pytest.mark.slow
async def test_any_sequence_of_order_calls_keeps_the_books_exact(
    tmp_path: Path, email_key: str
) -> None:
    OrderBooks.template = await template(tmp_path, email_key)
    OrderBooks.email_key = email_key
    machine = OrderBooks.TestCase
    machine.settings = settings(
        max_examples=20,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    await asyncio.to_thread(machine().runTest)
