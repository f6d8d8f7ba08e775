"""Record upstream attempts in the metrics and on the call's log line.

An `UpstreamRecorder` per client (one upstream) keeps the labelled metric children of each
call and outcome it has seen (`Children`): prometheus-client's `.labels()` (a lock and a
tuple key per lookup) is done once per label set, not on every attempt.
"""

from __future__ import annotations

from typing import Literal

from bridge.observability.context import call_facts
from bridge.observability.metrics import CIRCUIT_STATES, Children, Metrics

UpstreamOutcome = Literal[
    "ok", "error", "timeout", "connection_error", "circuit_open", "invalid_response"
]
CircuitState = Literal["closed", "half_open", "open"]


class UpstreamRecorder:
    """The metrics of one upstream, with each label set's children looked up once."""

    def __init__(self, metrics: Metrics, upstream: str) -> None:
        self._metrics = metrics
        self.upstream = upstream
        self._requests = Children(metrics.upstream_requests)
        self._durations = Children(metrics.upstream_duration)
        self._retries = Children(metrics.upstream_retries)

    def record(
        self,
        call: str,
        outcome: UpstreamOutcome,
        seconds: float,
        status: int | None = None,
        attempt: int = 1,
    ) -> None:
        """Count one attempt of a named call (`attempt` > 1 counts as a retry)."""
        self._requests(self.upstream, call, outcome).inc()
        if outcome != "circuit_open":
            self._durations(self.upstream, call).observe(seconds)
        if attempt > 1:
            self._retries(self.upstream, call).inc()
        call_facts().record_upstream(status, seconds)

    def circuit(self, state: CircuitState) -> None:
        """Publish the breaker's state (on every transition and once when it is created)."""
        record_circuit_state(self._metrics, self.upstream, state)


def record_circuit_state(metrics: Metrics, upstream: str, state: CircuitState) -> None:
    """Publish a breaker's state (call on every transition and once when it is created)."""
    metrics.circuit_state.labels(upstream).set(CIRCUIT_STATES[state])
