"""Every Prometheus metric the bridge exports, with bounded labels (docs/metrics.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "bridge_requests_total",
            "Legacy API calls answered, by app, operation, target, outcome and legacy code.",
            ["app", "operation", "target", "outcome", "code"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "bridge_request_duration_seconds",
            "Time to answer a legacy API call.",
            ["operation", "target"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "bridge_requests_in_flight", "Legacy API calls being answered.", registry=registry
        )
        self.outbox_depth = Gauge(
            "bridge_outbox_depth", "Emails waiting in the outbox.", registry=registry
        )
        self.emails = Counter(
            "bridge_emails_total",
            "Fulfilment email delivery attempts, by result.",
            ["result"],
            registry=registry,
        )
