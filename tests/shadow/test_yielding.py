"""The shadow yields to the primary (bridge/shadow/load.py, runner.py): while the process is
busy, shadows are shed and counted, never run; a status update is never shed. The load signal
is a fake here, and CpuShare is driven by fake clocks: nothing waits on the wall clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from bridge.canonical import Target
from bridge.cutover.policy import Operation, Shadow
from bridge.observability.metrics import Metrics
from bridge.shadow.config import ShadowSettings
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.executor import ShadowExecutor
from bridge.shadow.load import CpuShare, load_signal
from bridge.shadow.runner import ShadowRunner
from bridge.store.executor import open_database
from bridge.store.shadow_diffs import Comparison, IdPair, ShadowDiffs, Sides
from tests.cutover.conftest import FixedClock, demo_apps, fresh_store

PREFIX = "/priv/v1/apps/demo-api-key"
LEGACY = Shadow(target=Target.LEGACY, sample_rate=1.0)


class Load:
    def __init__(self, busy: bool) -> None:
        self.is_busy = busy

    def busy(self) -> bool:
        return self.is_busy


class Executor(ShadowExecutor):
    """Answers every shadow with an empty list, and remembers what it was asked."""

    def __init__(self) -> None:
        self.ran: list[Operation] = []

    async def run(self, exchange: Exchange, target: Target) -> Answer:
        self.ran.append(exchange.operation)
        return Answer(200, b'{"status": "ok", "orders": []}')


def call(operation: Operation, user: str = "demo-user-1", order: str | None = None) -> Exchange:
    match_info = {"api_key": "demo-api-key", "user_id": user}
    if order is not None:
        match_info["order_id"] = order
    return Exchange(
        app=demo_apps()[0],
        operation=operation,
        method="GET",
        raw_path=f"{PREFIX}/users/{user}/orders",
        match_info=match_info,
        query={},
        headers=(),
        body=b"",
        primary_target=Target.LOCAL,
        primary=Answer(200, orjson.dumps({"status": "ok", "orders": []})),
    )


@pytest.fixture
async def diffs(tmp_path: Path, email_key: str) -> AsyncIterator[ShadowDiffs]:
    engine = open_database(await fresh_store(tmp_path / "diffs.db", email_key))
    yield ShadowDiffs(engine)
    await engine.close()


def runner(diffs: ShadowDiffs, registry: CollectorRegistry, load: Load) -> ShadowRunner:
    return ShadowRunner(
        Executor(),
        diffs,
        {},
        Metrics(registry),
        FixedClock(),
        ShadowSettings(workers=1, drain_seconds=5.0),
        demo_apps(),
        load=load,
    )


def dropped(registry: CollectorRegistry, reason: str, operation: str = "list_orders") -> float:
    labels = {"app": "demo", "operation": operation, "target": "legacy", "reason": reason}
    return registry.get_sample_value("bridge_shadow_dropped_total", labels) or 0.0


def compared(registry: CollectorRegistry, result: str) -> float:
    labels = {"app": "demo", "operation": "list_orders", "target": "legacy", "result": result}
    return registry.get_sample_value("bridge_shadow_comparisons_total", labels) or 0.0


async def test_a_busy_process_sheds_offered_shadows_and_counts_them(
    diffs: ShadowDiffs, registry: CollectorRegistry
) -> None:
    shadows = runner(diffs, registry, Load(busy=True))
    shadows.start()
    assert not shadows.offer(call(Operation.LIST_ORDERS), LEGACY)
    await shadows.stop()
    assert dropped(registry, "shed") == 1
    assert compared(registry, "dropped") == 1
    assert shadows._executor.ran == []  # type: ignore[attr-defined]


async def test_jobs_queued_before_the_load_rose_are_shed_when_their_turn_comes(
    diffs: ShadowDiffs, registry: CollectorRegistry
) -> None:
    load = Load(busy=False)
    shadows = runner(diffs, registry, load)
    for user in ("demo-user-1", "demo-user-2", "demo-user-3"):
        assert shadows.offer(call(Operation.LIST_ORDERS, user), LEGACY)
    load.is_busy = True  # the workers start only now
    shadows.start()
    await shadows.stop()
    assert dropped(registry, "shed") == 3
    assert shadows._executor.ran == []  # type: ignore[attr-defined]


async def test_an_idle_process_runs_its_shadows(
    diffs: ShadowDiffs, registry: CollectorRegistry
) -> None:
    shadows = runner(diffs, registry, Load(busy=False))
    shadows.start()
    assert shadows.offer(call(Operation.LIST_ORDERS), LEGACY)
    await shadows.stop()
    assert compared(registry, "match") == 1
    assert dropped(registry, "shed") == 0


async def test_a_status_update_is_never_shed(
    diffs: ShadowDiffs, registry: CollectorRegistry
) -> None:
    shadows = runner(diffs, registry, Load(busy=True))
    assert shadows.offer(call(Operation.UPDATE_ORDER_STATUS), LEGACY)
    shadows.start()
    await shadows.stop()
    assert shadows._executor.ran == [Operation.UPDATE_ORDER_STATUS]  # type: ignore[attr-defined]
    assert dropped(registry, "shed", "update_order_status") == 0


def test_cpu_share_is_the_process_time_over_the_last_full_window() -> None:
    now, used = [0.0], [0.0]
    share = CpuShare(0.6, 0.1, cpu=lambda: used[0], clock=lambda: now[0])
    now[0], used[0] = 0.1, 0.05
    assert not share.busy()  # 50 % of a CPU over the first window
    now[0], used[0] = 0.15, 0.10  # half a window: the last full one still counts
    assert not share.busy()
    now[0], used[0] = 0.2, 0.12
    assert share.busy()  # 70 % over the second window
    assert share.share == pytest.approx(0.7)


def test_a_share_of_zero_turns_shedding_off() -> None:
    assert not load_signal(0.0, 0.1).busy()


async def test_a_dropped_status_update_retires_its_order(
    diffs: ShadowDiffs, registry: CollectorRegistry
) -> None:
    """The shadow never got the update, so its copy keeps the old status: the order's pair is
    retired (later reads not comparable), as when a shadowed update fails."""
    sides = Sides("demo", "local", "legacy")
    at = FixedClock().now()
    for primary, shadow in (("7", "70"), ("8", "80")):
        pair = IdPair(sides, primary, shadow)
        await diffs.record(
            Comparison("demo", "create_order", "legacy", "shadow", "match", at, pair=pair)
        )
    shadows = ShadowRunner(
        Executor(),
        diffs,
        {},
        Metrics(registry),
        FixedClock(),
        ShadowSettings(workers=1, queue_size=1, drain_seconds=5.0),
        demo_apps(),
        load=Load(busy=False),
    )
    assert shadows.offer(call(Operation.UPDATE_ORDER_STATUS, order="8"), LEGACY)
    assert not shadows.offer(call(Operation.UPDATE_ORDER_STATUS, order="7"), LEGACY)  # lane full
    shadows.start()
    await shadows.stop()
    assert dropped(registry, "queue_full", "update_order_status") == 1
    assert await diffs.shadow_ids(sides, ["7", "8"]) == {"8": "80"}
