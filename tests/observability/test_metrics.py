"""Request, upstream and build metrics as the middleware and helpers record them."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bridge.observability.context import begin_call, call_facts
from bridge.observability.metrics import Metrics
from bridge.observability.upstream import UpstreamRecorder, record_circuit_state
from tests.conftest import PREFIX, basic_auth


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    sample = registry.get_sample_value(name, labels)
    return 0.0 if sample is None else sample


async def test_an_ok_call_is_counted_with_its_labels(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    labels = {"app": "demo", "operation": "list_orders", "target": "local"}
    assert value(registry, "bridge_requests_total", outcome="ok", code="", **labels) == 1


async def test_a_legacy_error_is_counted_by_code(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await client.get(f"{PREFIX}/users/demo-user-1/orders/999999", headers=basic_auth())
    labels = {"app": "demo", "operation": "get_order", "target": "local"}
    assert value(registry, "bridge_requests_total", outcome="error", code="not_found", **labels)


async def test_the_duration_histogram_observes_each_call(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    for _ in range(3):
        await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    count = "bridge_request_duration_seconds_count"
    assert value(registry, count, operation="list_orders", target="local") == 3


async def test_no_call_is_in_flight_once_answered(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert value(registry, "bridge_requests_in_flight") == 0


def test_the_in_flight_gauge_reports_the_calls_counted_in() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.calls_in_flight += 2
    assert value(registry, "bridge_requests_in_flight") == 2


async def test_readiness_sets_the_ready_gauge(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await client.get("/readyz")
    assert value(registry, "bridge_ready") == 1


def test_build_info_names_the_version() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    (sample,) = [s for m in registry.collect() for s in m.samples if s.name == "bridge_build_info"]
    assert sample.value == 1
    assert sample.labels["version"]


def test_an_upstream_retry_is_counted_and_recorded_on_the_call() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    facts = begin_call()
    recorder = UpstreamRecorder(metrics, "incentives")
    for attempt, (outcome, status) in enumerate([("error", 503), ("ok", 200)], start=1):
        recorder.record("get_user_offers", outcome, 0.01, status, attempt)  # type: ignore[arg-type]
    labels = {"upstream": "incentives", "call": "get_user_offers"}
    assert value(registry, "bridge_upstream_retries_total", **labels) == 1
    assert value(registry, "bridge_upstream_requests_total", outcome="error", **labels) == 1
    assert call_facts() is facts
    fields: dict[str, object] = {}
    facts.add_log_fields(fields)
    assert (fields["upstream_calls"], fields["upstream_status"]) == (2, 200)


def test_circuit_state_is_published_as_a_number() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    record_circuit_state(metrics, "incentives", "open")
    assert value(registry, "bridge_upstream_circuit_state", upstream="incentives") == 2


async def create_with_key(client: TestClient[Any, Any], quantity: int) -> Any:
    return await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        json={"order": {"quantity": quantity}},
        headers={**basic_auth(), "Idempotency-Key": "metrics-key-1"},
    )


async def test_an_idempotent_replay_is_counted_and_logged(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await create_with_key(client, 1)
    with capture_logs() as logs:
        replayed = await create_with_key(client, 1)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    labels = {"app": "demo", "operation": "create_order", "result": "replayed"}
    assert value(registry, "bridge_idempotent_replays_total", **labels) == 1
    (line,) = [entry for entry in logs if entry["event"] == "request_completed"]
    assert line["idempotent_replay"] is True


async def test_a_key_reused_for_another_request_is_counted(
    client: TestClient[Any, Any], registry: CollectorRegistry
) -> None:
    await create_with_key(client, 1)
    refused = await create_with_key(client, 2)
    assert (await refused.json())["errors"]["code"] == "validation"
    labels = {"app": "demo", "operation": "create_order", "result": "rejected"}
    assert value(registry, "bridge_idempotent_replays_total", **labels) == 1
