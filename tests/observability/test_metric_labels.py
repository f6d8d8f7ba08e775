"""No metric has a label whose values come from request data (issue 7, "Proof")."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from bridge.observability.metrics import OVERFLOW_LABEL, BoundedLabel, Metrics
from tests.conftest import API_KEY, basic_auth
from tests.cutover.conftest import base_url, legacy_server, routed_bridge

__all__ = ["legacy_server", "routed_bridge"]

ALLOWED_LABELS = {
    "app": "configured app name",
    "operation": "one of the four legacy operations",
    "target": "legacy | incentives | local | none",
    "outcome": "fixed vocabulary",
    "code": "legacy error code",
    "upstream": "configured upstream name",
    "call": "named upstream call",
    "direction": "request | response",
    "reason": "policy | canary | locator | fallback",
    "from_target": "target",
    "to_target": "target",
    "result": "fixed vocabulary",
    "field": "path template, bounded by BoundedLabel",
    "kind": "value | type | missing | extra | list_length",
    "version": "build",
    "python_version": "build",
}
MARKER = "zq7marker"


def label_names(registry: CollectorRegistry) -> set[str]:
    return {
        name
        for metric in registry.collect()
        for sample in metric.samples
        for name in sample.labels
        if name not in {"le", "quantile"}
    }


def label_values(registry: CollectorRegistry) -> set[str]:
    return {
        value
        for metric in registry.collect()
        for sample in metric.samples
        for value in sample.labels.values()
    }


def test_every_label_name_has_a_bounded_source() -> None:
    metrics = Metrics(CollectorRegistry())
    declared = {
        name
        for collector in vars(metrics).values()
        for name in getattr(collector, "_labelnames", ())
    }
    assert declared <= set(ALLOWED_LABELS)


async def drive_marked_requests(client: TestClient[Any, Any]) -> None:
    """Every route, with the marker in every id, key and query value a client controls."""
    headers = {**basic_auth(), "X-Request-ID": f"{MARKER}-rid", "Idempotency-Key": f"{MARKER}-k"}
    prefix = f"/priv/v1/apps/{API_KEY}"
    calls = [
        ("POST", f"{prefix}/users/{MARKER}-user/offers/1/orders"),
        ("POST", f"{prefix}/users/demo-user-1/offers/9{MARKER}/orders"),
        ("POST", f"{prefix}/external/users/{MARKER}-ext/offers/1/orders"),
        ("GET", f"{prefix}/users/demo-user-1/orders?limit={MARKER}&page=1"),
        ("GET", f"{prefix}/users/demo-user-1/orders/{MARKER}"),
        ("PUT", f"{prefix}/orders/{MARKER}"),
        ("POST", f"{prefix}/external/orders/{MARKER}-order"),
        ("GET", f"/priv/v1/apps/{MARKER}-apikey/users/demo-user-1/orders"),
        ("GET", f"/priv/v1/apps/{MARKER}/nowhere"),
    ]
    for method, path in calls:
        await client.request(method, path, json={"order": {"quantity": 1}}, headers=headers)


def marked_values(registry: CollectorRegistry) -> list[str]:
    values = label_values(registry)
    assert "create_order" in values
    return [value for value in values if MARKER in value]


async def test_request_data_never_becomes_a_label_value(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await drive_marked_requests(client)
    assert marked_values(registry) == []


async def test_passthrough_keeps_request_data_out_of_labels(
    routed_bridge: Any, legacy_server: Any, registry: CollectorRegistry
) -> None:
    legacy: TestServer = await legacy_server()
    bridge = await routed_bridge(base_url(legacy), {"apps": {"demo": {"target": "legacy"}}})
    await drive_marked_requests(bridge)
    assert registry.get_sample_value(
        "bridge_upstream_requests_total",
        {"upstream": "legacy", "call": "list_orders", "outcome": "ok"},
    )
    assert marked_values(registry) == []


def test_bounded_label_answers_other_past_its_limit() -> None:
    guard = BoundedLabel(2)
    assert [guard(v) for v in ("a", "b", "c", "a")] == ["a", "b", OVERFLOW_LABEL, "a"]
