"""Every Prometheus metric the bridge exports, with bounded labels (docs/metrics.md).

Label values come from configuration or from small fixed vocabularies, never from request
data: `app` is the app's configured name (never its api key), `operation` one of the four
legacy operations, `target` one of `legacy`/`incentives`/`local`, `code` a legacy error code,
`upstream`/`call` a configured upstream and one of its named calls, `field` a path template
(`orders[].status`). tests/observability/test_metric_labels.py holds the allowed label names.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib import metadata
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
"""Values of `bridge_upstream_circuit_state`: an alert fires on 2."""

OVERFLOW_LABEL = "other"
MAX_FIELD_LABELS = 200


class BoundedLabel:
    """Pass label values through until `limit` distinct ones were seen, then answer `other`.

    A guard for labels whose vocabulary is large but finite (shadow diff path templates):
    a bug that leaks request data into such a label costs at most `limit` series.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return OVERFLOW_LABEL
        self._seen.add(value)
        return value


class NullMetric:
    """Stands in for every metric when metrics are off: each call does nothing."""

    def labels(self, *_values: object, **_named: object) -> NullMetric:
        return self

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return _nothing


def _nothing(*_args: object, **_kwargs: object) -> None:
    return None


class Children:
    """One metric's labelled children, each label set looked up once: prometheus-client's
    `.labels()` takes a lock and builds its key on every call. Label sets are bounded (the
    module docstring), so the children kept are too."""

    __slots__ = ("_metric", "_seen")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._seen: dict[tuple[object, ...], Any] = {}

    def __call__(self, *labels: object) -> Any:
        child = self._seen.get(labels)
        if child is None:
            child = self._seen[labels] = self._metric.labels(*labels)
        return child


class Metrics:
    """The bridge's metrics on one registry (passed in so tests can isolate it)."""

    def disable(self) -> None:
        """Make every metric a no-op (BRIDGE_METRICS_ENABLED=false; the bench's arm D0)."""
        for name, value in list(vars(self).items()):
            if isinstance(value, Counter | Gauge | Histogram):
                self.registry.unregister(value)
                setattr(self, name, NullMetric())
        self._keep_children()

    def _keep_children(self) -> None:
        """The per-call metrics' children, looked up once per label set."""
        self.request_counts = Children(self.requests)
        """`requests` by (app, operation, target, outcome, code)."""
        self.request_durations = Children(self.request_duration)
        """`request_duration` by (operation, target)."""
        self.routing_counts = Children(self.routing_decisions)
        """`routing_decisions` by (app, operation, target, reason)."""
        self.redemption_counts = Children(self.redemptions)
        """`redemptions` by result (an Incentives create counts one)."""
        self.settlement_counts = Children(self.purchase_settlements)
        """`purchase_settlements` by outcome (an Incentives create counts one)."""
        self.shadow_comparison_counts = Children(self.shadow_comparisons)
        """`shadow_comparisons` by (app, operation, target, result): one per shadowed call."""
        self.shadow_durations = Children(self.shadow_duration)
        """`shadow_duration` by (operation, target): one per shadowed call."""
        self.shadow_mismatch_counts = Children(self.shadow_mismatched_fields)
        """`shadow_mismatched_fields` by (app, operation, field, kind)."""
        self.shadow_drop_counts = Children(self.shadow_dropped)
        """`shadow_dropped` by (app, operation, target, reason)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._define_requests(registry)
        self._define_upstreams(registry)
        self._define_cutover(registry)
        self._define_shadow(registry)
        self._define_store(registry)
        self._define_canary(registry)
        self.build_info = Gauge(
            "bridge_build_info",
            "Always 1; the labels name the running build.",
            ["version", "python_version"],
            registry=registry,
        )
        self.build_info.labels(_version(), platform.python_version()).set(1)
        self._keep_children()

    def _define_requests(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "bridge_requests_total",
            "Legacy API calls answered, by app, operation, target, outcome (ok|error) and "
            "legacy error code (empty when ok).",
            ["app", "operation", "target", "outcome", "code"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "bridge_request_duration_seconds",
            "Time to answer a legacy API call, by operation and the target that served it.",
            ["operation", "target"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "bridge_requests_in_flight", "Legacy API calls being answered.", registry=registry
        )
        self.calls_in_flight = 0
        """What `in_flight` reports when scraped: the middleware counts calls in and out here,
        in the event loop, without the gauge's lock twice a call."""
        self.in_flight.set_function(lambda: self.calls_in_flight)
        self.ready = Gauge(
            "bridge_ready",
            "1 when the last readiness check passed, 0 when it failed or none ran yet.",
            registry=registry,
        )

    def _define_upstreams(self, registry: CollectorRegistry) -> None:
        self.upstream_requests = Counter(
            "bridge_upstream_requests_total",
            "Calls to an upstream (incentives, core, legacy), by named call and outcome "
            "(ok|error|timeout|connection_error|circuit_open|invalid_response).",
            ["upstream", "call", "outcome"],
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "bridge_upstream_request_duration_seconds",
            "Time of one upstream call attempt, by upstream and named call.",
            ["upstream", "call"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.upstream_retries = Counter(
            "bridge_upstream_retries_total",
            "Upstream call attempts beyond the first, by upstream and named call.",
            ["upstream", "call"],
            registry=registry,
        )
        self.circuit_state = Gauge(
            "bridge_upstream_circuit_state",
            "Circuit breaker state per upstream: 0 closed, 1 half open, 2 open.",
            ["upstream"],
            registry=registry,
        )
        self.translation_failures = Counter(
            "bridge_translation_failures_total",
            "Answers a mapping module could not translate, by named call and direction "
            "(request|response).",
            ["call", "direction"],
            registry=registry,
        )

    def _define_cutover(self, registry: CollectorRegistry) -> None:
        self.routing_decisions = Counter(
            "bridge_routing_decisions_total",
            "Cutover routing decisions, by app, operation, chosen target and reason "
            "(policy|canary|locator|fallback).",
            ["app", "operation", "target", "reason"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "bridge_fallbacks_total",
            "Calls served by the fallback target because the chosen target was unavailable, "
            "by app, operation, the target that failed and the one that served.",
            ["app", "operation", "from_target", "to_target"],
            registry=registry,
        )
        self.policy_reloads = Counter(
            "bridge_policy_reloads_total",
            "Cutover policy reloads, by result (applied|rejected).",
            ["result"],
            registry=registry,
        )

    def _define_shadow(self, registry: CollectorRegistry) -> None:
        self.shadow_comparisons = Counter(
            "bridge_shadow_comparisons_total",
            "Shadow calls, by app, operation, shadow target and result "
            "(match|mismatch|error|dropped).",
            ["app", "operation", "target", "result"],
            registry=registry,
        )
        self.shadow_dropped = Counter(
            "bridge_shadow_dropped_total",
            "Shadows never compared, by app, operation, shadow target and reason "
            "(shed|queue_full|stopping|skipped).",
            ["app", "operation", "target", "reason"],
            registry=registry,
        )
        self.shadow_mismatched_fields = Counter(
            "bridge_shadow_mismatched_fields_total",
            "Differences found by the shadow comparison, by app, operation, field path "
            "template and kind (value|type|missing|extra|list_length).",
            ["app", "operation", "field", "kind"],
            registry=registry,
        )
        self.shadow_field = BoundedLabel(MAX_FIELD_LABELS)
        """Pass every `field` label through this guard: beyond 200 paths it answers `other`."""
        self.shadow_duration = Histogram(
            "bridge_shadow_duration_seconds",
            "Time of a shadow call, by operation and shadow target.",
            ["operation", "target"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def _define_store(self, registry: CollectorRegistry) -> None:
        self.idempotent_replays = Counter(
            "bridge_idempotent_replays_total",
            "Writes answered from the idempotency store, by app, operation and result "
            "(replayed|rejected: same key, different request).",
            ["app", "operation", "result"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "bridge_outbox_depth",
            "Outbox messages waiting (fulfilment emails, upstream redemptions), of the kinds "
            "this replica delivers.",
            registry=registry,
        )
        self.emails = Counter(
            "bridge_emails_total",
            "Fulfilment email delivery attempts, by result.",
            ["result"],
            registry=registry,
        )
        self.purchase_settlements = Counter(
            "bridge_purchase_settlements_total",
            "How Incentives purchases ended in the call that placed them, by outcome "
            "(placed|found: confirmed from the wallet after a lost answer|refused|not_sent: "
            "failed before leaving, dropped|undo_queued: answered not_available, undo queued|"
            "left_unknown: answered not_available with an Idempotency-Key|lost_race: voided "
            "by its undo before the answer came).",
            ["outcome"],
            registry=registry,
        )
        self.compensations = Counter(
            "bridge_compensations_total",
            "Outbox compensations on the Incentives target, by kind (undo_purchase|"
            "finish_reject) and result (undone|nothing_landed|kept|finished|not_revoked|"
            "retry|failed: given up, reconcile must settle it).",
            ["kind", "result"],
            registry=registry,
        )
        self.redemptions = Counter(
            "bridge_redemptions_total",
            "Upstream fulfilment (manual_redeem) attempts of approved orders on the Incentives "
            "target, by result (redeemed|retry|failed: given up, order redemption_error).",
            ["result"],
            registry=registry,
        )

    def _define_canary(self, registry: CollectorRegistry) -> None:
        self.canary_step = Gauge(
            "bridge_canary_step",
            "The percentage an automated canary sends to its target now, by app and operation "
            "(every replica reports the shared plan it routes by; 0 after a rollback).",
            ["app", "operation"],
            registry=registry,
        )
        self.canary_decisions = Counter(
            "bridge_canary_decisions_total",
            "Automated canary decisions taken by this replica, by app, operation, outcome "
            "(advance|hold|rollback) and reason (healthy|not_enough_data|error_ratio|latency|"
            "shadow_mismatch|reconcile_drift).",
            ["app", "operation", "outcome", "reason"],
            registry=registry,
        )


class ReconcileMetrics:
    """`orders-bridge reconcile`'s gauges, on a registry of their own: the command writes them
    for node_exporter's textfile collector (docs/reconcile.md), not to a serving bridge."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.drift = Gauge(
            "bridge_reconcile_drift",
            "Drift the last reconcile run found between the ledger and the Incentives upstream, "
            "by app and kind (order_without_purchase|purchase_without_order|refund_missing|"
            "refund_doubled|refund_unexpected|balance_mismatch|outcome_unknown).",
            ["app", "kind"],
            registry=registry,
        )
        self.last_run = Gauge(
            "bridge_reconcile_last_run_timestamp_seconds",
            "When the last reconcile run of the app ended (Unix time).",
            ["app"],
            registry=registry,
        )


def _version() -> str:
    try:
        return metadata.version("orders-bridge")
    except metadata.PackageNotFoundError:
        return "unknown"
