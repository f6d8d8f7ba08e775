"""Books drift feeds the automated canary: `orders-bridge reconcile` records each run's drift
count per app (bridge/store/reconcile_runs.py), and the next interval's decision reads the
app's last run against the plan's `reconcile_drift` limit.

End to end on the canary fixtures (a real bridge, list_orders canaried to Incentives through
the fault proxy in front of a real sandbox, an injected clock): a clean run lets the canary
advance; drift planted upstream (a purchase no order stands for), found by the next run, rolls
it back within one interval with the reason and the figure recorded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bridge.cli import _parser
from bridge.reconcile import commands as reconcile_commands
from bridge.sandbox import ids
from bridge.settings import Settings
from bridge.store.executor import open_database
from bridge.store.reconcile_runs import ReconcileRun, ReconcileRuns
from tests.canary.conftest import analysis, list_orders, next_decision, routes_at, store_of
from tests.canary.test_automated_canary import CALLS, Build, start
from tests.clocks import ManualClock
from tests.incentives.test_lost_purchase import sandbox_call

PLAN = analysis(limits={"error_ratio_increase": 0.05, "p99_ratio": None, "reconcile_drift": 0})
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def reconcile(settings: Settings) -> int:
    """`orders-bridge reconcile --app demo`, as an operator (or a cron job) runs it."""
    args = _parser().parse_args(["reconcile", "--app", "demo"])
    status: int = await asyncio.to_thread(reconcile_commands.run, args, settings)
    return status


async def plant_purchase_without_order(sandbox: TestServer) -> None:
    """A purchase made directly upstream for a customer the bridge knows: drift."""
    await sandbox_call(
        sandbox,
        "/offers/api/2.0/offers/rewardstores/purchase_offer",
        {
            "user_id": "demo-user-1",
            "reward_store_id": ids.reward_store_id("demo"),
            "reward_store_offer_id": ids.store_offer_id("demo", 1),
            "quantity": 1,
            "idempotency_id": "planted-drift",
        },
    )


async def test_drift_found_by_reconcile_rolls_the_canary_back_at_the_next_interval(
    canary_settings: Build,
    aiohttp_client: Any,
    clock: ManualClock,
    sandbox: TestServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = canary_settings(PLAN)
    client = await start(aiohttp_client, settings, clock)
    await routes_at(client, 20)

    assert await reconcile(settings) == 0  # clean books: drift 0, within the limit
    await list_orders(client, CALLS)
    advanced = await next_decision(client, clock)
    assert (advanced.outcome, advanced.to_percent) == ("advance", 50), advanced.figures
    assert advanced.figures["drift"] == 0

    await plant_purchase_without_order(sandbox)
    assert await reconcile(settings) == 1  # drift found
    assert "purchase_without_order" in capsys.readouterr().out
    await list_orders(client, CALLS)
    rolled_back = await next_decision(client, clock)

    assert (rolled_back.outcome, rolled_back.reason) == ("rollback", "reconcile_drift")
    assert (rolled_back.from_percent, rolled_back.to_percent) == (50, 0)
    drift = rolled_back.figures["drift"]
    assert drift is not None
    assert drift >= 1
    assert rolled_back.figures["canary_failures"] == 0  # the calls were fine: the books were not
    await routes_at(client, 0)
    [stored] = await store_of(client).history(operation="list_orders", limit=1)
    assert stored.reason == "reconcile_drift"


@pytest.mark.both_engines
async def test_the_last_run_of_each_app_is_the_newest(database_url: str) -> None:
    db = open_database(database_url)
    runs = ReconcileRuns(db)
    try:
        assert await runs.last("demo") is None
        await runs.record(ReconcileRun("demo", T0, 3, 5, 0))
        newest = ReconcileRun("demo", T0 + timedelta(hours=1), 3, 0, 1)
        await runs.record(newest)
        await runs.record(ReconcileRun("other", T0 + timedelta(hours=2), 1, 7, 0))
        assert await runs.last("demo") == newest
        assert await runs.last("nobody") is None
    finally:
        await db.close()
