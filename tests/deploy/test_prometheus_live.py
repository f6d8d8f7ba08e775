"""A real Prometheus scrapes a real bridge under a small mixed load; every PromQL expression of
the dashboard and the rules then evaluates without error, and with data wherever the metrics it
reads were produced by the load (issue 7, "Checked by the real tools").

The bridge runs the demo app under a cutover policy against a real Incentives sandbox: creates
on the Incentives target, lists there with a shadow to local, gets and updates found by the
locator, gets shadowed to Incentives, idempotent replays; an invalid policy file is rejected
and a valid one applied; then the sandbox stops, so reads fall back to local and creates answer
`not_available`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.shadow.config import ShadowSettings
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import demo_apps, write_policy
from tests.deploy.live_prometheus import Prometheus, running_prometheus
from tests.deploy.promql import (
    Expression,
    dashboard_expressions,
    raw_metric_names,
    recorded_sources,
    rule_expressions,
)
from tests.incentives.conftest import (
    base_url,
    incentives_config,
    sandbox_database,
    start_sandbox,
)
from tests.prometheus_tools import PrometheusTools

__all__ = ["sandbox_database", "start_sandbox"]

pytestmark = pytest.mark.slow

READS = {"shadow": {"target": "incentives"}, "on_unavailable": {"fallback": "local"}}
POLICY = {
    "apps": {
        "demo": {
            "target": "local",
            "operations": {
                "create_order": {"target": "incentives"},
                "list_orders": {**READS, "target": "incentives", "shadow": {"target": "local"}},
                "get_order": READS,
            },
        }
    }
}


async def drive_mixed_load(client: TestClient[Any, Any]) -> None:
    """Orders placed, listed, fetched and approved, plus legacy errors of several codes."""
    auth = basic_auth()
    for _ in range(3):
        created = await client.post(
            f"{PREFIX}/users/demo-user-1/offers/1/orders",
            json={"order": {"quantity": 1, "status": "pending_approval"}},
            headers=auth,
        )
        placed = (await created.json()).get("order")
        if placed is not None:  # once the sandbox is down, creates answer not_available
            await client.get(f"{PREFIX}/users/demo-user-1/orders/{placed['id']}", headers=auth)
            await client.put(
                f"{PREFIX}/orders/{placed['id']}",
                json={"order": {"status": "approved"}},
                headers=auth,
            )
        await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=auth)
    await client.get(f"{PREFIX}/users/nobody/orders", headers=auth)
    await client.get(f"{PREFIX}/users/demo-user-1/orders/999999", headers=auth)
    await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth(secret="wrong"))
    await client.post(
        f"{PREFIX}/users/demo-user-1/offers/4/orders", json={"order": {}}, headers=auth
    )
    await client.post(f"{PREFIX}/users/demo-user-1/offers/1/orders", json={}, headers=auth)
    for _ in range(2):  # the second is a replay (once the sandbox is down, of an error)
        await client.post(
            f"{PREFIX}/users/demo-user-1/offers/3/orders",
            json={"order": {"quantity": 1}},
            headers={**auth, "Idempotency-Key": "live-prometheus"},
        )
    await client.get("/readyz")


@pytest.fixture
async def scraped(
    prometheus_tools: PrometheusTools,
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    start_sandbox: Callable[..., Awaitable[TestServer]],
    tmp_path: Path,
) -> AsyncIterator[Prometheus]:
    """A bridge under load, scraped until the recording rules hold data."""
    sandbox = await start_sandbox()
    policy_file = write_policy(tmp_path / "policy.yaml", POLICY)
    client = await bridge_client(
        apps=demo_apps(incentives=incentives_config(base_url(sandbox))),
        policy_file=policy_file,
        policy_poll_seconds=0.1,
        shadow=ShadowSettings(drain_seconds=1.0),
    )
    target = f"{client.server.host}:{client.server.port}"
    async with running_prometheus(prometheus_tools, tmp_path, target) as prometheus:
        await drive_mixed_load(client)
        await prometheus.wait_for('bridge_requests_total{job="orders-bridge"}')
        policy_file.write_text("apps: [not, a, policy]\n", encoding="utf-8")
        await drive_mixed_load(client)
        await prometheus.wait_for('bridge_policy_reloads_total{result="rejected"}')
        write_policy(policy_file, POLICY)
        await sandbox.close()
        await drive_mixed_load(client)
        # rate() needs two samples of a series; these appear only in the last phase.
        for series in (
            'bridge_fallbacks_total{operation="list_orders"}',
            'bridge_requests_total{code="offer_not_available"}',
        ):
            await prometheus.wait_for(f"count_over_time({series}[1m]) > 1")
        await prometheus.wait_for("app_operation_target:bridge_requests:rate5m > 0")
        await prometheus.wait_for("app_operation:bridge_request_errors:ratio_rate5m > 0")
        await prometheus.wait_for("target:bridge_request_duration_seconds:p99_rate5m")
        yield prometheus


async def test_every_expression_evaluates_with_data_where_the_load_produced_it(
    scraped: Prometheus,
) -> None:
    present = await scraped.metric_names()
    recorded = recorded_sources()
    failures = []
    expressions: list[Expression] = dashboard_expressions() + rule_expressions()
    for expression in expressions:
        answer = await scraped.query(expression.promql)
        if answer["status"] != "success":
            failures.append(f"{expression.source}: {answer.get('error')}")
            continue
        needs_data = raw_metric_names(expression.promql, recorded) <= present
        is_alert = expression.source.startswith("rule: Bridge")
        if needs_data and not is_alert and not answer["data"]["result"]:
            failures.append(f"{expression.source}: no data for {expression.promql}")
    assert not failures, "\n".join(failures)
    assert len(expressions) > 40
