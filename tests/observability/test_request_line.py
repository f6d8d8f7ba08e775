"""The canonical log line: one per legacy call, with the request id, app, operation, target,
outcome, legacy code and duration (issue 7, "Logs")."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import structlog
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

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
