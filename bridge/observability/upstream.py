"""One call to record an upstream attempt in the metrics and on the call's log line."""

from __future__ import annotations

from typing import Literal

from bridge.observability.context import call_facts
from bridge.observability.metrics import CIRCUIT_STATES, Metrics

UpstreamOutcome = Literal[
    "ok", "error", "timeout", "connection_error", "circuit_open", "invalid_response"
]
CircuitState = Literal["closed", "half_open", "open"]


def record_upstream_call(
    metrics: Metrics,
    *,
    upstream: str,
    call: str,
    outcome: UpstreamOutcome,
    seconds: float,
    status: int | None = None,
    attempt: int = 1,
) -> None:
    """Count one attempt of a named upstream call (`attempt` > 1 counts as a retry)."""
    metrics.upstream_requests.labels(upstream, call, outcome).inc()
    if outcome != "circuit_open":
        metrics.upstream_duration.labels(upstream, call).observe(seconds)
    if attempt > 1:
        metrics.upstream_retries.labels(upstream, call).inc()
    call_facts().record_upstream(status, seconds)


def record_circuit_state(metrics: Metrics, upstream: str, state: CircuitState) -> None:
    """Publish a breaker's state (call on every transition and once when it is created)."""
    metrics.circuit_state.labels(upstream).set(CIRCUIT_STATES[state])
