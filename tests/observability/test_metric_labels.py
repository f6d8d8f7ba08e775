"""No metric has a label whose values come from request data (issue 7, "Proof")."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from bridge.observability.metrics import OVERFLOW_LABEL, BoundedLabel, Metrics
from tests.conftest import API_KEY, basic_auth

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


async def test_request_data_never_becomes_a_label_value(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    auth = basic_auth()
    headers = {**auth, "X-Request-ID": f"{MARKER}-rid", "Idempotency-Key": f"{MARKER}-key"}
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
    values = label_values(registry)
    assert any(value == "create_order" for value in values)
    assert not [value for value in values if MARKER in value]


def test_bounded_label_answers_other_past_its_limit() -> None:
    guard = BoundedLabel(2)
    assert [guard(v) for v in ("a", "b", "c", "a")] == ["a", "b", OVERFLOW_LABEL, "a"]
