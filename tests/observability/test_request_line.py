"""The canonical log line: one per legacy call, with the request id, app, operation, target,
outcome, legacy code and duration (issue 7, "Logs"); written straight to the JSON chain's
stream, it is the line that chain writes."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from bridge.canonical import ErrorCode, Target
from bridge.cutover.policy import Operation
from bridge.cutover.router import Reason
from bridge.observability.context import CallFacts
from bridge.observability.logging import configure_logging, write_line
from bridge.observability.metrics import Metrics
from bridge.observability.middleware import record_call
from bridge.observability.redaction import is_sensitive_key, redact_text
from tests.conftest import PREFIX, basic_auth

CREATE = f"{PREFIX}/users/demo-user-1/offers/1/orders"


def request_lines(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == "request_completed"]


async def test_ok_call_logs_one_line_with_its_facts(client: TestClient[Any, Any]) -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.post(
            CREATE,
            json={"order": {"quantity": 1}},
            headers={**basic_auth(), "X-Request-ID": "req-ok-1"},
        )
    assert response.status == 200
    (line,) = request_lines(logs)
    assert line["request_id"] == "req-ok-1"
    assert line["app"] == "demo"
    assert line["operation"] == "create_order"
    assert line["target"] == "local"
    assert line["outcome"] == "ok"
    assert line["status"] == 200
    assert line["legacy_code"] is None
    assert line["log_level"] == "info"
    assert line["duration_ms"] >= 0


async def test_legacy_error_logs_its_code(client: TestClient[Any, Any]) -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.post(
            f"{PREFIX}/users/nobody/offers/1/orders",
            json={"order": {"quantity": 1}},
            headers=basic_auth(),
        )
    assert (await response.json())["errors"]["code"] == "user_not_found"
    (line,) = request_lines(logs)
    assert line["outcome"] == "error"
    assert line["legacy_code"] == "user_not_found"
    assert line["operation"] == "create_order"
    assert line["app"] == "demo"
    assert line["request_id"] == response.headers["X-Request-ID"]


async def test_auth_failure_is_logged_without_an_app(client: TestClient[Any, Any]) -> None:
    with capture_logs() as logs:
        response = await client.get(
            f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth(secret="wrong")
        )
    assert response.status == 401
    (line,) = request_lines(logs)
    assert line["app"] == "unknown"
    assert line["legacy_code"] == (await response.json())["errors"]["code"]


async def test_request_id_from_the_caller_is_returned(client: TestClient[Any, Any]) -> None:
    response = await client.get(
        f"{PREFIX}/users/demo-user-1/orders",
        headers={**basic_auth(), "X-Request-ID": "abc.DEF-123:4"},
    )
    assert response.headers["X-Request-ID"] == "abc.DEF-123:4"


async def test_request_id_is_generated_when_absent(client: TestClient[Any, Any]) -> None:
    first = await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    second = await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth())
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_request_id_that_is_not_a_plain_token_is_replaced(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get(
        f"{PREFIX}/users/demo-user-1/orders",
        headers={**basic_auth(), "X-Request-ID": "jane@example.com <script>"},
    )
    assert response.headers["X-Request-ID"] != "jane@example.com <script>"
    assert len(response.headers["X-Request-ID"]) == 32


async def test_operational_routes_write_no_request_line(client: TestClient[Any, Any]) -> None:
    with capture_logs() as logs:
        await client.get("/metrics")
        await client.get("/healthz")
    assert request_lines(logs) == []


@pytest.fixture
def json_lines() -> Iterator[io.BytesIO]:
    """The JSON chain writing to a buffer, as `serve` logs; the tests' logging restored."""
    stream = io.BytesIO()
    configure_logging("json", "info", stream=stream, cache_loggers=False)
    yield stream
    configure_logging(log_format="json", cache_loggers=False)


def every_fact() -> CallFacts:
    facts = CallFacts(operation="get_order", app="demo", target="incentives")
    facts.route_reason, facts.canary = "canary", True
    facts.shadow_target, facts.fallback_from = "legacy", "local"
    facts.idempotent_replay = True
    facts.record_upstream(200, 0.0012)
    return facts


def without_timestamps(output: bytes) -> list[bytes]:
    return re.sub(rb',"timestamp":"[0-9T:.-]+Z"}', b"}", output).splitlines()


@pytest.mark.parametrize("request_id", ["req-1", "198.51.100.23", "2001:db8::7"])
@pytest.mark.parametrize("app", ["demo", "app-2_b"])
@pytest.mark.parametrize("status", [200, 503])
def test_the_line_written_straight_is_the_line_the_chain_writes(
    json_lines: io.BytesIO, request_id: str, app: str, status: int
) -> None:
    """Same keys in the same order, same redaction (a request id may be an IP address), same
    level and timestamp format: structlog's chain and the straight writer, line by line."""
    fields = {"app": app, "status": status, "legacy_code": None, "duration_ms": 1.5}
    level = "warning" if status >= 500 else "info"
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        getattr(structlog.get_logger(), level)("request_completed", **fields)
        write_line(level, "request_completed", dict(fields), request_id)
    finally:
        structlog.contextvars.clear_contextvars()
    chain, straight = json_lines.getvalue().splitlines()
    assert re.search(rb',"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"}$', straight)
    assert without_timestamps(straight) == without_timestamps(chain)


def test_the_straight_line_keeps_the_configured_level() -> None:
    stream = io.BytesIO()
    configure_logging("json", "warning", stream=stream, cache_loggers=False)
    try:
        write_line("info", "request_completed", {"status": 200}, "req-1")
        write_line("warning", "request_completed", {"status": 503}, "req-2")
    finally:
        configure_logging(log_format="json", cache_loggers=False)
    (line,) = stream.getvalue().splitlines()
    assert b'"request_id":"req-2","level":"warning"' in line


def test_no_value_of_the_line_but_the_request_id_is_one_redaction_masks() -> None:
    """The values the line's strings take: the vocabularies, the event, the levels, and an app
    name (settings.py: `[a-z0-9][a-z0-9_-]*`); redaction leaves every one as it is."""
    codes = [*ErrorCode, "other"]
    words = [*Operation, *Target, *Reason, "ok", "error", "cancelled", "unknown", "none"]
    line = ["request_completed", "info", "warning", "demo", "app-2_b", "0-app_"]
    assert [value for value in (*codes, *words, *line) if redact_text(value) != value] == []


def test_a_capture_sees_the_line_and_the_stream_does_not(json_lines: io.BytesIO) -> None:
    with capture_logs() as logs:
        write_line("info", "request_completed", {"status": 200}, "req-1")
    assert request_lines(logs) == [
        {"status": 200, "event": "request_completed", "log_level": "info"}
    ]
    assert json_lines.getvalue() == b""
    write_line("info", "request_completed", {"status": 200}, "req-1")
    assert b'"request_completed"' in json_lines.getvalue()


def test_no_key_of_the_line_is_one_redaction_masks(json_lines: io.BytesIO) -> None:
    """The straight writer redacts the request id only: no key may need it either."""
    record_call(Metrics(CollectorRegistry()), every_fact(), "req-1", 200, 0.0031)
    (line,) = json_lines.getvalue().splitlines()
    keys = re.findall(rb'"(\w+)":', line)
    assert len(keys) == 19
    assert not [key for key in keys if is_sensitive_key(key.decode())]
