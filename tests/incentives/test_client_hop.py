"""The client hop's shortcuts keep the wire and the readings: the body as bytes with its headers,
the envelope read without a model on the ok path, metric children looked up once."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from bridge.errors import RuleError
from bridge.incentives.client import CallOptions, UpstreamClient, UpstreamFailure
from bridge.incentives.config import BreakerPolicy, RetryPolicy
from bridge.observability.metrics import Metrics
from bridge.observability.upstream import UpstreamRecorder

PATH = "/incentives/api/1.0/user_points/all_balances"
OPTIONS = CallOptions({"Authorization": "Basic a2V5OnNlY3JldA=="}, aiohttp.ClientTimeout(total=2))
ONE_TRY = RetryPolicy(attempts=1)


async def upstream_answering(aiohttp_server: Any, status: int, body: bytes) -> tuple[str, list]:
    """A real upstream answering `body`; the list collects (headers, body) of each request."""
    seen: list[tuple[dict[str, str], bytes]] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = await aiohttp_server(app)
    return str(server.make_url("")), seen


async def post(url: str, body: dict[str, Any] | None = None) -> Any:
    client = UpstreamClient(url, ONE_TRY, BreakerPolicy(failure_threshold=50))
    await client.open()
    try:
        return await client.post("all_balances", PATH, body or {}, OPTIONS, read=True)
    finally:
        await client.close()


async def test_the_body_goes_as_json_with_the_auth_and_content_type(aiohttp_server: Any) -> None:
    url, seen = await upstream_answering(
        aiohttp_server, 200, b'{"status":"ok","payload":{"summary":null}}'
    )
    assert await post(url, {"user_id": "u-1", "culture": "en-US"}) == {"summary": None}
    ((headers, body),) = seen
    assert orjson.loads(body) == {"user_id": "u-1", "culture": "en-US"}
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == OPTIONS.headers["Authorization"]


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        ({"status": "ok", "payload": {"a": 1}}, {"a": 1}),
        ({"status": "ok", "payload": [1], "errors": None}, [1]),
        # an ok envelope that also carries a well-formed `errors` is still ok (the model's reading)
        ({"status": "ok", "payload": {"a": 1}, "errors": {"code": "x"}}, {"a": 1}),
    ],
)
async def test_an_ok_envelope_gives_its_payload(
    aiohttp_server: Any, body: dict[str, Any], payload: Any
) -> None:
    url, _ = await upstream_answering(aiohttp_server, 200, orjson.dumps(body))
    assert await post(url) == payload


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"status":"ok","payload":{"a":1},"errors":"broken"}', "malformed answer"),
        (b'{"status":1,"payload":{"a":1}}', "malformed answer"),
        (b'[{"status":"ok"}]', "malformed answer"),
        (b"not json", "malformed answer"),
        (b'{"status":"ok","payload":null}', "missing payload"),
        (b'{"status":"ok"}', "missing payload"),
    ],
)
async def test_a_2xx_that_is_no_ok_envelope_is_an_invalid_response(
    aiohttp_server: Any, body: bytes, reason: str
) -> None:
    url, _ = await upstream_answering(aiohttp_server, 200, body)
    with pytest.raises(UpstreamFailure) as raised:
        await post(url)
    assert (raised.value.reason, raised.value.outcome) == (reason, "invalid_response")


async def test_an_ok_envelope_on_an_error_status_is_no_payload(aiohttp_server: Any) -> None:
    url, _ = await upstream_answering(aiohttp_server, 503, b'{"status":"ok","payload":{"a":1}}')
    with pytest.raises((UpstreamFailure, RuleError)):
        await post(url)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_the_recorder_counts_each_label_set_apart_and_looks_it_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    lookups: list[tuple[str, ...]] = []
    labels = type(metrics.upstream_requests).labels

    def counted(metric: Any, *values: str) -> Any:
        lookups.append(values)
        return labels(metric, *values)

    monkeypatch.setattr(type(metrics.upstream_requests), "labels", counted)
    recorder = UpstreamRecorder(metrics, "incentives")
    for _ in range(3):
        recorder.record("all_balances", "ok", 0.01)
        recorder.record("all_balances", "timeout", 0.02, attempt=2)
        recorder.record("purchase_offer", "ok", 0.03)
    count = "bridge_upstream_requests_total"
    assert sample(registry, count, upstream="incentives", call="all_balances", outcome="ok") == 3
    assert (
        sample(registry, count, upstream="incentives", call="all_balances", outcome="timeout") == 3
    )
    assert sample(registry, count, upstream="incentives", call="purchase_offer", outcome="ok") == 3
    retries = "bridge_upstream_retries_total"
    assert sample(registry, retries, upstream="incentives", call="all_balances") == 3
    assert sample(registry, retries, upstream="incentives", call="purchase_offer") == 0
    assert len(lookups) == len(set(lookups)) == 4  # three request counts, one retry count
