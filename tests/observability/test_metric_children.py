"""The per-call metrics' children, looked up once per label set (observability/metrics.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from bridge.observability.metrics import Metrics


def test_each_label_set_counts_on_its_own_child() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    for code in ("", "", "not_found"):
        metrics.request_counts(
            "demo", "create_order", "local", "ok" if not code else "error", code
        ).inc()
    assert metrics.request_counts("demo", "create_order", "local", "ok", "") is (
        metrics.request_counts("demo", "create_order", "local", "ok", "")
    )
    labels = {"app": "demo", "operation": "create_order", "target": "local"}
    ok = registry.get_sample_value("bridge_requests_total", labels | {"outcome": "ok", "code": ""})
    error = registry.get_sample_value(
        "bridge_requests_total", labels | {"outcome": "error", "code": "not_found"}
    )
    assert (ok, error) == (2.0, 1.0)


def test_disabled_metrics_keep_no_children() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.disable()
    metrics.request_counts("demo", "create_order", "local", "ok", "").inc()
    metrics.request_durations("create_order", "local").observe(0.1)
    assert registry.get_sample_value("bridge_requests_total", {"app": "demo"}) is None
