"""Crash consistency: SIGKILL the real server mid-stream, restart it, and the books still balance.

The server runs as `python -m bridge serve` in a subprocess on a free port. Workers stream
creates (some held for review) and status updates (approve or reject) at it; after a number
of answers the server is killed with SIGKILL while requests are in flight, restarted on the
same database, and served a few more requests. Then, read straight from the store:

- every customer's balance = starting points - points of their non-rejected orders;
- every offer's stock = starting stock - quantity of their non-rejected orders;
- every order has exactly its points-ledger entries: one debit of its points, plus one
  refund of them if (and only if) it was rejected.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bridge.store import tables as t
from tests.conftest import API_KEY, DEMO_APPS, basic_auth
from tests.proofs.data import load
from tests.queries import rows_at
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.both_engines, pytest.mark.slow]

CUSTOMERS = {f"crash-{n}": 5000 for n in range(8)}
OFFERS = {300: (50, 400), 301: (20, 400), 302: (5, 1000)}
"""offer id -> (points, starting stock)"""
ANSWERS_BEFORE_KILL = 80
WORKERS = 8


@pytest.fixture
async def crash_data(database_url: str, email_key: str) -> None:
    customers = [{"id": name, "points": points} for name, points in CUSTOMERS.items()]
    offers = [
        {"id": offer, "name": f"Crash {offer}", "points": points, "inventory": stock}
        for offer, (points, stock) in OFFERS.items()
    ]
    await load(database_url, email_key, "demo", {"customers": customers, "offers": offers})


@pytest.fixture
async def server(database_url: str, email_key: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_CONFIG_FILE": str(DEMO_APPS),
        "BRIDGE_EMAIL_KEYS": email_key,
        "BRIDGE_LOG_LEVEL": "warning",
    }
    running = ServerProcess(env, tmp_path / "server.log", stop_seconds=30)
    yield running
    await running.stop()


class Stream:
    """Workers placing orders and moving them, counting answers, until told to stop."""

    def __init__(self, base: str, seed: int) -> None:
        self._base = f"{base}/priv/v1/apps/{API_KEY}"
        self._random = random.Random(seed)
        self._pending: list[int] = []
        self.answers = 0
        self.kill_point = asyncio.Event()
        """Set once ANSWERS_BEFORE_KILL answers came back."""

    @asynccontextmanager
    async def session(self) -> AsyncIterator[aiohttp.ClientSession]:
        async with aiohttp.ClientSession(headers=basic_auth()) as session:
            yield session

    async def run(self, session: aiohttp.ClientSession, answers: int) -> None:
        """Keep requests in flight until `answers` answers came back or the server is gone."""
        try:
            await asyncio.gather(*(self._worker(session, answers) for _ in range(WORKERS)))
        except (TimeoutError, aiohttp.ClientError):
            return

    async def _worker(self, session: aiohttp.ClientSession, answers: int) -> None:
        while self.answers < answers:
            if self._pending and self._random.random() < 0.4:
                await self._move(
                    session, self._pending.pop(self._random.randrange(len(self._pending)))
                )
            else:
                await self._create(session)
            self.answers += 1
            if self.answers >= ANSWERS_BEFORE_KILL:
                self.kill_point.set()

    async def _create(self, session: aiohttp.ClientSession) -> None:
        customer = self._random.choice(sorted(CUSTOMERS))
        offer = self._random.choice(sorted(OFFERS))
        order: dict[str, Any] = {"quantity": self._random.randint(1, 3)}
        if self._random.random() < 0.6:
            order["status"] = "pending_approval"
        url = f"{self._base}/users/{customer}/offers/{offer}/orders"
        async with session.post(url, json={"order": order}) as answer:
            body = await answer.json()
        if body["status"] == "ok" and body["order"]["status"] == "pending_approval":
            self._pending.append(int(body["order"]["id"]))

    async def _move(self, session: aiohttp.ClientSession, order_id: int) -> None:
        status = self._random.choice(["approved", "rejected"])
        url = f"{self._base}/orders/{order_id}"
        async with session.put(url, json={"order": {"status": status}}) as answer:
            await answer.read()


async def books(database_url: str) -> dict[str, Any]:
    """Everything the invariants need, read in one go from the store."""
    orders = await rows_at(database_url, sa.select(t.orders).where(t.orders.c.app == "demo"))
    accounts = sa.select(t.points_accounts.c.customer_id, t.points_accounts.c.balance)
    balances = dict(await rows_at(database_url, accounts))
    stock = dict(await rows_at(database_url, sa.select(t.offers.c.id, t.offers.c.inventory)))
    entries = await rows_at(database_url, sa.select(t.points_ledger))
    return {"orders": orders, "balances": balances, "stock": stock, "entries": entries}


def live(orders: list[Any]) -> list[Any]:
    return [order for order in orders if order.status != "rejected"]


async def crash_and_restart(server: ServerProcess, database_url: str) -> dict[str, Any]:
    await server.start()
    stream = Stream(server.base, seed=3)
    async with stream.session() as session:
        killer = asyncio.create_task(_kill_at(server, stream))
        await stream.run(session, answers=10**9)
        await killer
    await server.start()
    async with stream.session() as session:
        await stream.run(session, answers=stream.answers + 20)
    await server.stop()
    return await books(database_url)


async def _kill_at(server: ServerProcess, stream: Stream) -> None:
    await stream.kill_point.wait()
    await server.kill()


def balance_errors(state: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Customers whose balance is not their starting points minus their live orders."""
    spent = dict.fromkeys(CUSTOMERS, 0)
    for order in live(state["orders"]):
        spent[order.customer_id] += order.points
    expected = {name: CUSTOMERS[name] - spent[name] for name in CUSTOMERS}
    return {
        name: (state["balances"][name], want)
        for name, want in expected.items()
        if state["balances"][name] != want
    }


def stock_errors(state: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """Offers whose stock is not their starting stock minus their live orders' quantity."""
    taken = dict.fromkeys(OFFERS, 0)
    for order in live(state["orders"]):
        taken[order.offer_id] += order.quantity
    expected = {offer: OFFERS[offer][1] - taken[offer] for offer in OFFERS}
    return {
        offer: (state["stock"][offer], want)
        for offer, want in expected.items()
        if state["stock"][offer] != want
    }


def ledger_errors(state: dict[str, Any]) -> dict[int, list[tuple[str, int]]]:
    """Orders whose points-ledger entries are not exactly: a debit, and a refund if rejected."""
    entries: dict[int, list[tuple[str, int]]] = {order.id: [] for order in state["orders"]}
    for entry in state["entries"]:
        entries.setdefault(entry.order_id, []).append((entry.kind, entry.points))
    wrong = {}
    for order in state["orders"]:
        expected = [("order_debit", -order.points)]
        if order.status == "rejected":
            expected.append(("order_refund", order.points))
        if sorted(entries.pop(order.id)) != sorted(expected):
            wrong[order.id] = entries.get(order.id, [])
    return wrong | entries  # entries left over belong to no order


async def test_the_books_balance_after_a_sigkill(
    server: ServerProcess, crash_data: None, database_url: str
) -> None:
    """One crash, three invariants: re-running the crash per invariant would triple its cost."""
    state = await crash_and_restart(server, database_url)
    assert balance_errors(state) == {}
    assert stock_errors(state) == {}
    assert ledger_errors(state) == {}
    assert {order.status for order in state["orders"]} == {
        "approved",
        "pending_approval",
        "rejected",
    }
