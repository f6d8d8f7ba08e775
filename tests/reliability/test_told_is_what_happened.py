"""What the client was told is what happened: the Incentives target behind a failing upstream.

The matrix (issue 14): fault kind x key use x operation, on SQLite and PostgreSQL. A real
sandbox sits behind a `FaultyUpstream` whose faults hit the operation's upstream write
(purchase_offer, revoke, manual_redeem); for a create, the wallet reads of the same call fail
too, so that a purchase whose answer was lost cannot be settled in the call and must be
undone. "refused" stops the proxy (the caches are warm, so the write is the first call that
meets the closed port). After each case the upstream is healthy again, the clock is moved past
the in-flight window (or the key's expiry) and the outbox is run by hand; then:

- the upstream holds what the client was told: one purchase and one debit after an ok, none
  after an error (a reject: revoked and refunded once after an ok; after an error either as
  it was, or, when the revoke may have landed, completed: revoked and refunded once, which
  docs/reliability.md documents as the least-bad completion);
- list and get never showed a row whose outcome was unknown as an order;
- no compensation or fulfilment is left pending in the outbox.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from bridge.app import INCENTIVES
from bridge.incentives.config import BreakerPolicy
from bridge.runtime.health import DATABASE
from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from bridge.store import outbox
from bridge.store import tables as t
from bridge.store.executor import read_value
from bridge.store.remote_orders import FINISH_REJECT, MANUAL_REDEEM, UNDO_PURCHASE
from tests.clocks import ManualClock
from tests.conftest import PREFIX, basic_auth, load_demo
from tests.engines import sqlite_database
from tests.incentives.test_lost_purchase import run_due_jobs, sandbox_call, wallet_and_points

pytestmark = pytest.mark.both_engines

Bridge = TestClient[Any, Any]
PURCHASE, REVOKE, REDEEM, WALLET = (
    "/purchase_offer",
    "/acquisition/revoke",
    "/manual_redeem",
    "/get_user_offers",
)
WRITE_PATH = {"create": PURCHASE, "reject": REVOKE, "approve": REDEEM}
KEY_TTL_SECONDS = 60
SETTINGS = {"idempotency_ttl_seconds": KEY_TTL_SECONDS, "outbox_poll_seconds": 3600}
TIMEOUTS = {  # roomy: a healthy call on a busy 2-core box must not time out (load 8: >1 s seen)
    "connect_timeout_seconds": 2.0,
    "read_timeout_seconds": 2.0,
    "total_timeout_seconds": 3.0,
    "in_flight_margin_seconds": 0.0,
    "breaker": BreakerPolicy(failure_threshold=100, reset_seconds=60),
}
ORDERS = f"{PREFIX}/users/demo-user-1/orders"
UPSTREAM_KINDS = (UNDO_PURCHASE, FINISH_REJECT, MANUAL_REDEEM)


@dataclass(frozen=True)
class Case:
    name: str
    fault: Fault | None
    """None: the upstream refuses connections (stopped)."""
    commits: bool
    """Whether the upstream commits the write the fault hits."""


CASES = [
    Case("refused", None, commits=False),
    Case("reset_before_commit", Fault(Kind.RESET), commits=False),
    Case("reset_after_commit", Fault(Kind.RESET, after_commit=True), commits=True),
    Case("timeout_after_commit", Fault(Kind.HANG, after_commit=True, delay=5), commits=True),
    Case("502_before_commit", Fault(Kind.STATUS, status=502), commits=False),
    Case("503_before_commit", Fault(Kind.STATUS, status=503), commits=False),
    Case("500_after_commit", Fault(Kind.STATUS, status=500, after_commit=True), commits=True),
    Case("truncated_after_commit", Fault(Kind.TRUNCATED, after_commit=True), commits=True),
    Case("invalid_after_commit", Fault(Kind.INVALID_JSON, after_commit=True), commits=True),
]
KEYS = ("no_key", "key_retried", "key_expired")


@pytest.fixture(scope="module")
def email_key() -> str:
    """One key for the module's cases, so that the sandbox's demo data is loaded once."""
    return Fernet.generate_key().decode()


_SANDBOX_TEMPLATES: dict[str, Path] = {}
"""The sandbox's migrated database with the demo data, per email key (built once)."""


@pytest.fixture
async def sandbox_database(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, email_key: str
) -> str:
    """A fresh copy of the sandbox's database with the demo data, for every case."""
    if email_key not in _SANDBOX_TEMPLATES:
        folder = tmp_path_factory.mktemp("sandbox-template")
        await load_demo(await sqlite_database(folder, migrated=True, name="sandbox.db"), email_key)
        _SANDBOX_TEMPLATES[email_key] = folder / "sandbox.db"
    shutil.copyfile(_SANDBOX_TEMPLATES[email_key], tmp_path / "sandbox.db")
    return f"sqlite:///{tmp_path / 'sandbox.db'}"


class Upstream:
    """The faulty proxy in front of the sandbox, which a test can stop and start again."""

    def __init__(self, proxy: FaultyUpstream, start: Callable[..., Awaitable[TestServer]]):
        self.proxy = proxy
        self._start = start
        self._server: TestServer | None = None

    async def up(self) -> None:
        self.proxy.inject()
        if self._server is None:
            port = int(self.proxy.url.rsplit(":", 1)[1]) if self.proxy.url else None
            self._server = await self._start(self.proxy.app(), port=port)
            self.proxy.url = str(self._server.make_url("")).rstrip("/")

    async def fail(self, case: Case, operation: str) -> None:
        """Make the next call of `operation`'s write fail as `case` says."""
        if case.fault is None:
            assert self._server is not None
            await self._server.close()
            self._server = None
            return
        faults = [dataclasses.replace(case.fault, path=WRITE_PATH[operation])]
        if operation == "create":  # the call's settling read fails too (all its attempts)
            faults.append(Fault(Kind.STATUS, path=WALLET, status=503, times=3))
        self.proxy.inject(*faults)


@pytest.fixture
async def upstream(sandbox: TestServer, aiohttp_server: Callable[..., Any]) -> Upstream:
    proxy = FaultyUpstream(str(sandbox.make_url("")).rstrip("/"))
    running = Upstream(proxy, aiohttp_server)
    await running.up()
    return running


@dataclass
class World:
    bridge: Bridge
    clock: ManualClock
    upstream: Upstream
    sandbox: TestServer


@pytest.fixture
async def world(
    upstream: Upstream,
    sandbox: TestServer,
    start_incentives_bridge: Callable[..., Awaitable[Bridge]],
    database_url: str,
) -> World:
    clock = ManualClock()
    bridge = await start_incentives_bridge(
        _At(upstream.proxy.url),
        clock=clock,
        settings_overrides=SETTINGS,
        database_url=database_url,
        **TIMEOUTS,
    )
    return World(bridge, clock, upstream, sandbox)


class _At:
    """Where the bridge finds its upstream (only `make_url` is read)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def make_url(self, path: str) -> str:
        return self._url + path


async def call(
    bridge: Bridge, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {**basic_auth(), **({"Idempotency-Key": key} if key else {})}
    response = await bridge.request(method, path, json=body, headers=headers)
    return response.status, await response.json()


async def create(bridge: Bridge, key: str | None = None, **order: Any) -> tuple[int, Any]:
    path = f"{PREFIX}/users/demo-user-1/offers/1/orders"
    return await call(bridge, "POST", path, {"order": order}, key)


async def update(bridge: Bridge, order_id: int, status: str, key: str | None) -> tuple[int, Any]:
    path = f"{PREFIX}/orders/{order_id}"
    return await call(bridge, "PUT", path, {"order": {"status": status}}, key)


async def listed(bridge: Bridge) -> list[tuple[int, str]]:
    status, body = await call(bridge, "GET", ORDERS)
    assert status == 200, body
    return [(order["id"], order["status"]) for order in body["orders"]]


async def newest_row(bridge: Bridge) -> int:
    """The newest ledger row's id (0 when the ledger is empty)."""
    query = sa.select(sa.func.coalesce(sa.func.max(t.orders.c.id), 0))
    return int(await read_value(bridge.app[DATABASE], query))


async def pending_upstream_jobs(bridge: Bridge) -> int:
    query = sa.select(sa.func.count()).where(
        t.outbox.c.status.in_((outbox.PENDING, outbox.SENDING)),
        t.outbox.c.kind.in_(UPSTREAM_KINDS),
    )
    return int(await read_value(bridge.app[DATABASE], query))


async def warm(world: World) -> None:
    """Customer and catalog cached, so that a stopped upstream first meets the write."""
    await listed(world.bridge)
    tenant = world.bridge.app[INCENTIVES].tenant("demo")
    assert tenant is not None
    await tenant.catalog()


async def ask(
    world: World, key_use: str, send: Callable[[str | None], Awaitable[tuple[int, Any]]]
) -> tuple[int, Any]:
    """Send once under the fault; with `key_retried`, once more with the same key once the
    upstream is back (a retry after an ok replays it). The last answer."""
    key = None if key_use == "no_key" else "key-1"
    status, body = await send(key)
    await world.upstream.up()
    if key_use == "key_retried":
        status, body = await send(key)
    return status, body


async def settle_everything(world: World, key_use: str) -> None:
    """Upstream healthy; past the in-flight window (the key's expiry); every due job run."""
    await world.upstream.up()
    later = KEY_TTL_SECONDS * 2 if key_use == "key_expired" else 30
    await run_due_jobs(world.bridge, world.clock, seconds=later)
    await run_due_jobs(world.bridge, world.clock, seconds=later)  # the email's row is not ours
    assert await pending_upstream_jobs(world.bridge) == 0


@pytest.mark.parametrize("key_use", KEYS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_create(world: World, case: Case, key_use: str) -> None:
    await warm(world)
    before = await wallet_and_points(world.sandbox)
    await world.upstream.fail(case, "create")

    async def send(key: str | None) -> tuple[int, Any]:
        status, body = await create(world.bridge, key)
        if status != 200:  # an unknown row is never shown as an order
            assert await listed(world.bridge) == []
            got, _ = await call(world.bridge, "GET", f"{ORDERS}/{await newest_row(world.bridge)}")
            assert got == 404
        return status, body

    status, body = await ask(world, key_use, send)
    await settle_everything(world, key_use)

    if status == 200:
        assert await wallet_and_points(world.sandbox) == (before[0] + 1, before[1] - 100)
        assert await listed(world.bridge) == [(body["order"]["id"], "approved")]
    else:
        assert body["errors"]["code"] == "not_available"
        assert await wallet_and_points(world.sandbox) == before
        assert await listed(world.bridge) == []
    if key_use == "key_retried":
        assert status == 200


@dataclass(frozen=True)
class Reviewed:
    order_id: int
    before: tuple[int, int]
    """The wallet (offers, points) just before the review."""
    status: int
    body: Any


async def review(world: World, case: Case, key_use: str, operation: str) -> Reviewed:
    """An order held for review, then `operation` (approve|reject) under the fault, settled."""
    await warm(world)
    for _ in range(3):  # a keyed retry gets the outcome, should this healthy call time out
        status, body = await create(world.bridge, "setup", status="pending_approval")
        if status == 200:
            break
    assert status == 200, body
    order_id: int = body["order"]["id"]
    before = await wallet_and_points(world.sandbox)
    await world.upstream.fail(case, operation)
    wanted = {"approve": "approved", "reject": "rejected"}[operation]

    status, body = await ask(
        world, key_use, lambda key: update(world.bridge, order_id, wanted, key)
    )
    await settle_everything(world, key_use)
    return Reviewed(order_id, before, status, body)


@pytest.mark.parametrize("key_use", KEYS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_reject(world: World, case: Case, key_use: str) -> None:
    reviewed = await review(world, case, key_use, "reject")

    order_id, before, status, body = astuple(reviewed)
    rejected = (before[0] - 1, before[1] + 100)
    ended = dict(await listed(world.bridge))[order_id]
    if status == 200:
        assert (body["order"]["status"], ended) == ("rejected", "rejected")
        assert await wallet_and_points(world.sandbox) == rejected
    elif case.commits:  # the revoke landed: completed, refunded once (docs/reliability.md)
        assert ended == "rejected"
        assert await wallet_and_points(world.sandbox) == rejected
    else:  # as it was
        assert ended == "pending_approval"
        assert await wallet_and_points(world.sandbox) == before
    if key_use == "key_retried":
        assert status == 200


@pytest.mark.parametrize("key_use", KEYS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_approve(world: World, case: Case, key_use: str) -> None:
    reviewed = await review(world, case, key_use, "approve")

    order_id, before, status, body = astuple(reviewed)
    wallet = await sandbox_call(
        world.sandbox, "/offers/api/2.0/offers/get_user_offers", {"user_id": "demo-user-1"}
    )
    assert (status, body["order"]["status"]) == (200, "approved")
    assert dict(await listed(world.bridge))[order_id] == "approved"
    assert await wallet_and_points(world.sandbox) == before
    assert [entry["is_redeemable"] for entry in wallet["user_offers"]] == [False]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_a_keyless_client_that_retries_once_gets_one_order_and_one_debit(
    world: World, case: Case
) -> None:
    await warm(world)
    before = await wallet_and_points(world.sandbox)
    await world.upstream.fail(case, "create")

    status, _ = await create(world.bridge)
    await world.upstream.up()
    if status != 200:
        status, _ = await create(world.bridge)
    await settle_everything(world, "no_key")

    assert status == 200
    assert len(await listed(world.bridge)) == 1
    assert await wallet_and_points(world.sandbox) == (before[0] + 1, before[1] - 100)
