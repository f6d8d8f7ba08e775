"""`orders-bridge reconcile`: drift planted between a real bridge's ledger and a real sandbox
(port 0) is found, `--repair` fixes it, and a second `--repair` changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from bridge.cli import _parser
from bridge.incentives.backend import write_id
from bridge.reconcile import commands as reconcile_commands
from bridge.reconcile.books import (
    CustomerBooks,
    Deposit,
    DriftKind,
    LedgerRow,
    Repair,
    UpstreamPurchase,
    compare,
)
from bridge.reconcile.commands import Report, reconcile_app
from bridge.sandbox import ids
from bridge.settings import Settings
from bridge.store import tables as t
from bridge.store.database import run_on_connection
from bridge.store.executor import change, open_database
from bridge.store.ledger import VOIDED
from bridge.store.outbox import enqueue
from bridge.store.remote_orders import FINISH_REJECT
from bridge.store.sandbox import REFERENCE_COLUMNS, create_tables, deposits
from tests.conftest import PREFIX, basic_auth
from tests.incentives.conftest import base_url, incentives_app
from tests.incentives.test_lost_purchase import sandbox_call
from tests.queries import rows_at

pytestmark = pytest.mark.both_engines

OFFERS = "/offers/api/2.0/offers"
Bridge = Callable[..., Awaitable[TestClient[Any, Any]]]


async def place(bridge: TestClient[Any, Any]) -> int:
    response = await bridge.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": {}}, headers=basic_auth()
    )
    body = await response.json()
    assert body["status"] == "ok", body
    order_id: int = body["order"]["id"]
    return order_id


async def execute(database_url: str, statement: Any) -> Any:
    if statement.is_select:
        return await rows_at(database_url, statement)
    db = open_database(database_url)
    try:
        await change(db, statement)
    finally:
        await db.close()
    return None


async def plant_drift(server: TestServer, bridge: TestClient[Any, Any], database_url: str) -> None:
    """One order as it should be, and drift for demo-user-1: a purchase made directly
    upstream, a rejected order whose refund is missing, a ledger row whose purchase never was,
    and a voided row whose purchase stands (an undo that never ran)."""
    await place(bridge)
    voided = await place(bridge)
    await execute(
        database_url, sa.update(t.orders).where(t.orders.c.id == voided).values(status=VOIDED)
    )
    purchase = {
        "user_id": "demo-user-1",
        "reward_store_id": ids.reward_store_id("demo"),
        "reward_store_offer_id": ids.store_offer_id("demo", 1),
        "quantity": 1,
        "idempotency_id": str(uuid.uuid4()),
    }
    await sandbox_call(server, f"{OFFERS}/rewardstores/purchase_offer", purchase)
    rejected = await place(bridge)
    (ref,) = await execute(
        database_url, sa.select(t.orders.c.backend_ref).where(t.orders.c.id == rejected)
    )
    await sandbox_call(server, f"{OFFERS}/acquisition/revoke", {"user_offer_id": ref[0]})
    await execute(
        database_url,
        sa.update(t.orders).where(t.orders.c.id == rejected).values(status="rejected"),
    )
    (row,) = await execute(database_url, sa.select(t.orders).where(t.orders.c.id == rejected))
    copy = {**row._asdict(), "status": "approved", "backend_ref": ids.user_offer_id(999_999)}
    copy.pop("id")
    await execute(database_url, sa.insert(t.orders).values(copy))


async def upstream_state(server: TestServer) -> tuple[int, int, int]:
    """Standing purchases, points, and entries in the points history of demo-user-1."""
    wallet = await sandbox_call(server, f"{OFFERS}/get_user_offers", {"user_id": "demo-user-1"})
    history = await sandbox_call(
        server,
        "/incentives/api/1.0/point_audit_logs/fetch_point_audit_logs",
        {"user_id": "demo-user-1", "take": 1000},
    )
    return wallet["total_records"], wallet["available_points"], history["total_records"]


@pytest.fixture
async def planted(
    sandbox: TestServer, bridge_client: Bridge, make_settings: Callable[..., Settings]
) -> tuple[TestServer, Settings]:
    apps = (incentives_app(base_url(sandbox)),)
    bridge = await bridge_client(apps=apps)
    settings = make_settings(apps=apps)
    await plant_drift(sandbox, bridge, settings.database_url)
    return sandbox, settings


async def reconcile(settings: Settings, *, repair: bool) -> Report:
    return await reconcile_app(settings.apps[0], settings, None, [], repair=repair)


def kinds(report: Report) -> list[tuple[str, str]]:
    return sorted((outcome.drift.kind.value, outcome.result) for outcome in report.outcomes)


async def test_planted_drift_is_found_and_nothing_is_changed_without_repair(
    planted: tuple[TestServer, Settings],
) -> None:
    server, settings = planted
    before = await upstream_state(server)

    report = await reconcile(settings, repair=False)

    assert kinds(report) == [
        ("balance_mismatch", "found"),
        ("order_without_purchase", "found"),
        ("purchase_without_order", "found"),
        ("purchase_without_order", "found"),
        ("refund_missing", "found"),
    ]
    assert (report.status, report.customers) == (1, 3)
    balance = next(o.drift for o in report.outcomes if o.drift.kind is DriftKind.BALANCE_MISMATCH)
    assert balance.points == 200  # 400 taken upstream, 200 owed by the ledger's two orders
    assert await upstream_state(server) == before


async def test_repair_fixes_the_drift_and_a_second_repair_changes_nothing(
    planted: tuple[TestServer, Settings],
) -> None:
    server, settings = planted

    with capture_logs() as logs:
        first = await reconcile(settings, repair=True)
    after_first = await upstream_state(server)
    second = await reconcile(settings, repair=True)

    assert kinds(first) == [
        ("balance_mismatch", "follows"),
        ("order_without_purchase", "repaired"),
        ("purchase_without_order", "repaired"),
        ("purchase_without_order", "repaired"),
        ("refund_missing", "repaired"),
    ]
    # one order stands: one purchase in the wallet, its 100 points spent; 4 debits, 3 refunds
    assert after_first == (1, 9900, 7)
    undone = [e for e in logs if e["event"] == "compensation_done"]  # the voided row's undo
    assert [(e["kind"], e["result"]) for e in undone] == [("undo_purchase", "undone")]
    assert (second.outcomes, second.status) == ([], 0)
    assert await upstream_state(server) == after_first
    statuses = await execute(settings.database_url, sa.select(t.orders.c.status))
    assert sorted(status for (status,) in statuses) == ["approved", "rejected", VOIDED, VOIDED]


async def test_command_prints_json_writes_metrics_and_exits_1_on_drift(
    planted: tuple[TestServer, Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _server, settings = planted
    metrics = tmp_path / "reconcile.prom"
    args = _parser().parse_args(
        ["reconcile", "--app", "demo", "--json", "--metrics-file", str(metrics)]
    )

    status = await asyncio.to_thread(reconcile_commands.run, args, settings)

    printed = orjson.loads(capsys.readouterr().out)
    assert status == 1
    assert printed["counts"]["refund_missing"] == 1
    assert printed["counts"]["refund_doubled"] == 0
    written = metrics.read_text()
    assert 'bridge_reconcile_drift{app="demo",kind="purchase_without_order"} 2.0' in written
    assert 'bridge_reconcile_drift{app="demo",kind="refund_doubled"} 0.0' in written


async def test_command_without_drift_prints_a_summary_and_exits_0(
    sandbox: TestServer,
    make_settings: Callable[..., Settings],
    demo_data: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(apps=(incentives_app(base_url(sandbox)),))
    args = _parser().parse_args(["reconcile", "--app", "demo", "--since", "7d"])

    status = await asyncio.to_thread(reconcile_commands.run, args, settings)

    printed = capsys.readouterr()
    assert status == 0
    assert printed.out == "reconcile demo: 3 customers, 0 drift\n"
    assert printed.err == ""  # no progress bar off a terminal


@pytest.mark.parametrize(
    "argv",
    [
        ["reconcile", "--app", "nope"],
        ["reconcile", "--app", "demo", "--since", "yesterday"],
    ],
)
def test_bad_usage_exits_2(
    argv: list[str], make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(apps=(incentives_app("http://127.0.0.1:9"),))

    assert reconcile_commands.run(_parser().parse_args(argv), settings) == 2
    assert capsys.readouterr().err.startswith("orders-bridge reconcile: ")


AT = datetime(2026, 1, 1, tzinfo=UTC)


def row(status: str = "rejected", ref: str | None = "uo-1") -> LedgerRow:
    return LedgerRow(1, "c", 100, status, ref, AT, purchase_key="p-1", refund_key="r-1")


def purchase(standing: bool = False) -> UpstreamPurchase:
    return UpstreamPurchase("uo-1", "p-1", 100, AT, standing=standing)


def refund(key: str) -> Deposit:
    return Deposit(100, key, "legacy_order_refund", "1", AT)


def books(
    rows: tuple[LedgerRow, ...], purchases: tuple[UpstreamPurchase, ...], *refunds: Deposit
) -> CustomerBooks:
    return CustomerBooks("demo", "c", rows, purchases, refunds)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (books((row(),), (purchase(),), refund("r-1")), []),
        (books((row("approved"),), (purchase(standing=True),)), []),
        (
            books((row(),), (purchase(),), refund("r-1"), refund("other")),
            [
                (DriftKind.REFUND_DOUBLED, Repair.MANUAL, 100),
                (DriftKind.BALANCE_MISMATCH, Repair.FOLLOWS, -100),
            ],
        ),
        (
            books((row("approved"),), (purchase(standing=True),), refund("r-1")),
            [
                (DriftKind.REFUND_UNEXPECTED, Repair.MANUAL, 100),
                (DriftKind.BALANCE_MISMATCH, Repair.FOLLOWS, -100),
            ],
        ),
        (
            books((row(),), (purchase(standing=True),), refund("r-1")),
            [(DriftKind.PURCHASE_WITHOUT_ORDER, Repair.REVOKE, 100)],
        ),
        (books((row("approved", ref=None),), (purchase(standing=True),)), []),
        (books((row(VOIDED, ref=None),), ()), []),
        (books((replace(row("approved"), context=True),), (purchase(standing=True),)), []),
        (books((replace(row("approved"), context=True),), ()), []),
    ],
    ids=[
        "refunded",
        "standing",
        "doubled",
        "unexpected",
        "revoke-only",
        "settling",
        "voided",
        "before-since-claims-its-purchase",
        "before-since-not-reported",
    ],
)
def test_compare_classifies(
    case: CustomerBooks, expected: list[tuple[DriftKind, Repair, int]]
) -> None:
    assert [(d.kind, d.repair, d.points) for d in compare(case)] == expected


async def test_customers_the_upstream_cannot_answer_for_exit_3(
    sandbox: TestServer, make_settings: Callable[..., Settings], demo_data: None
) -> None:
    settings = make_settings(apps=(incentives_app(base_url(sandbox)),))
    await sandbox.close()

    report = await reconcile(settings, repair=False)

    assert (report.outcomes, report.status) == ([], 3)
    assert report.unreadable == ["demo-user-1", "demo-user-ca", "demo-user-unregistered"]


async def test_sandbox_adds_the_deposit_reference_columns_to_an_older_database(
    tmp_path: Path, email_key: str
) -> None:
    url = f"sqlite:///{tmp_path / 'old-sandbox.db'}"
    old = sa.MetaData()
    sa.Table(
        deposits.name,
        old,
        *(
            sa.Column(c.name, c.type, primary_key=c.primary_key)
            for c in deposits.c
            if c.name not in REFERENCE_COLUMNS
        ),
    )
    columns: set[str] = set()
    await run_on_connection(url, old.create_all)
    await run_on_connection(url, create_tables)
    await run_on_connection(
        url,
        lambda sync: columns.update(c["name"] for c in sa.inspect(sync).get_columns(deposits.name)),
    )
    assert set(REFERENCE_COLUMNS) <= columns


async def test_a_row_whose_compensation_is_queued_is_left_to_the_bridge(
    sandbox: TestServer, bridge_client: Bridge, make_settings: Callable[..., Settings]
) -> None:
    apps = (incentives_app(base_url(sandbox)),)
    bridge = await bridge_client(apps=apps)
    settings = make_settings(apps=apps)
    order_id = await place(bridge)
    (ref,) = await execute(
        settings.database_url, sa.select(t.orders.c.backend_ref).where(t.orders.c.id == order_id)
    )
    await sandbox_call(sandbox, f"{OFFERS}/acquisition/revoke", {"user_offer_id": ref[0]})
    # a reject whose revoke answer was lost: its finish_reject job waits out the in-flight window
    due = datetime.now(UTC) + timedelta(hours=1)
    engine = open_database(settings.database_url)
    try:
        await engine.write(
            partial(enqueue, app="demo", order_id=order_id, kind=FINISH_REJECT, now=due, due_at=due)
        )
    finally:
        await engine.close()

    report = await reconcile(settings, repair=True)

    assert (report.outcomes, report.status) == ([], 0)


@pytest.mark.parametrize("changes", [{"connect_secret": "wrong"}, {"retailer_id": "unknown"}])
async def test_an_upstream_that_refuses_the_reads_leaves_customers_unreadable(
    changes: dict[str, str],
    sandbox: TestServer,
    make_settings: Callable[..., Settings],
    demo_data: None,
) -> None:
    settings = make_settings(apps=(incentives_app(base_url(sandbox), **changes),))

    report = await reconcile(settings, repair=False)

    assert (len(report.unreadable), report.status) == (3, 3)


async def test_a_customer_the_upstream_refuses_is_unreadable_and_the_others_are_checked(
    sandbox: TestServer, make_settings: Callable[..., Settings], demo_data: None
) -> None:
    settings = make_settings(apps=(incentives_app(base_url(sandbox)),))

    report = await reconcile_app(settings.apps[0], settings, None, [""], repair=False)

    assert (report.unreadable, report.customers, report.status) == ([""], 4, 3)


async def test_a_row_written_before_since_still_claims_the_purchase_that_landed_after(
    sandbox: TestServer, bridge_client: Bridge, make_settings: Callable[..., Settings]
) -> None:
    apps = (incentives_app(base_url(sandbox)),)
    bridge = await bridge_client(apps=apps)
    settings = make_settings(apps=apps)
    order_id = await place(bridge)
    written = datetime.now(UTC) - timedelta(hours=2)  # e.g. a keyed retry placed it later
    await execute(
        settings.database_url,
        sa.update(t.orders).where(t.orders.c.id == order_id).values(created_at=written),
    )
    since = datetime.now(UTC) - timedelta(hours=1)

    report = await reconcile_app(settings.apps[0], settings, since, [], repair=False)

    assert (report.outcomes, report.status) == ([], 0)


async def test_a_row_left_unknown_that_nothing_settles_is_undone_by_the_bridges_undo(
    sandbox: TestServer, bridge_client: Bridge, make_settings: Callable[..., Settings]
) -> None:
    """A row with no outcome, past the in-flight window, with no undo job (one an older bridge
    left): its purchase, which landed, is revoked and refunded and the row voided."""
    apps = (incentives_app(base_url(sandbox)),)
    bridge = await bridge_client(apps=apps)
    settings = make_settings(apps=apps)
    order_id = await place(bridge)
    (row,) = await execute(
        settings.database_url, sa.select(t.orders).where(t.orders.c.id == order_id)
    )
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    lost = {**row._asdict(), "backend_ref": None, "created_at": written, "updated_at": written}
    lost.pop("id")
    await execute(settings.database_url, sa.insert(t.orders).values(lost))
    (last,) = await execute(settings.database_url, sa.select(sa.func.max(t.orders.c.id)))
    landed = {
        "user_id": "demo-user-1",
        "reward_store_id": ids.reward_store_id("demo"),
        "reward_store_offer_id": ids.store_offer_id("demo", 1),
        "quantity": 1,
        "idempotency_id": write_id("demo", last[0], written, "purchase"),
    }
    await sandbox_call(sandbox, f"{OFFERS}/rewardstores/purchase_offer", landed)

    found = await reconcile(settings, repair=False)
    with capture_logs() as logs:
        repaired = await reconcile(settings, repair=True)
    again = await reconcile(settings, repair=True)

    assert kinds(found) == [("balance_mismatch", "found"), ("outcome_unknown", "found")]
    assert kinds(repaired) == [("balance_mismatch", "follows"), ("outcome_unknown", "repaired")]
    assert [e["result"] for e in logs if e["event"] == "compensation_done"] == ["undone"]
    assert (again.outcomes, again.status) == ([], 0)
    assert (await upstream_state(sandbox))[:2] == (1, 9900)
