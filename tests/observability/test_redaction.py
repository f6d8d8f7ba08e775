"""Personal data and secrets never reach a rendered log line (issue 7, "Logs")."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import structlog
from aiohttp.test_utils import TestClient

from bridge.observability.logging import configure_logging
from bridge.observability.redaction import REDACTED, redact_personal_data, redact_text
from bridge.orders.guards import canonical_ip
from tests.conftest import API_KEY, PREFIX, basic_auth
from tests.incentives.conftest import (
    incentives_client,
    sandbox,
    sandbox_database,
    start_incentives_bridge,
    start_sandbox,
)

__all__ = [
    "incentives_client",
    "sandbox",
    "sandbox_database",
    "start_incentives_bridge",
    "start_sandbox",
]

EMAIL = "jane.doe+orders@example.com"
IPV4 = "198.51.100.23"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
STREET = "221B Baker Street"
SECRET = "s3cr3t-Incentives-key"
ADDRESS = {
    "name": "Jane Doe",
    "address": STREET,
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62704",
    "country": "US",
}
PERSONAL = (EMAIL, IPV4, IPV6, STREET, SECRET, API_KEY, "Springfield", "62704", "Jane Doe")


@pytest.fixture
def rendered() -> Iterator[io.BytesIO]:
    """The real JSON chain writing to a buffer; structlog's defaults restored afterwards."""
    stream = io.BytesIO()
    configure_logging("json", "debug", stream=stream, cache_loggers=False)
    yield stream
    structlog.reset_defaults()


def render(**event: Any) -> dict[str, Any]:
    return dict(redact_personal_data(None, "info", {"event": "tested", **event}))


def test_sensitive_keys_are_masked_at_any_depth() -> None:
    line = render(order={"email": EMAIL, "shipping_address": ADDRESS, "quantity": 2})
    assert line["order"] == {"email": REDACTED, "shipping_address": REDACTED, "quantity": 2}


def test_secret_keys_are_masked_whatever_their_type() -> None:
    line = render(authorization="Basic abc", api_secret=SECRET, incentives_token=42)
    assert line["authorization"] == line["api_secret"] == line["incentives_token"] == REDACTED


def test_emails_and_ips_inside_free_text_are_masked() -> None:
    text = redact_text(f"customer {EMAIL} from {IPV4} and {IPV6} failed at 21:48:52")
    assert text == "customer [email] from [ip] and [ip] failed at 21:48:52"


def test_credentials_inside_free_text_are_masked() -> None:
    assert redact_text("header was Basic ZGVtbzpzZWNyZXQ=") == f"header was Basic {REDACTED}"


def test_the_api_key_in_a_path_is_masked() -> None:
    assert redact_text("/priv/v1/apps/core-key-1/orders?x=1") == (
        f"/priv/v1/apps/{REDACTED}/orders?x=1"
    )


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/users/u1?x=1", f"/users/{REDACTED}?x=1"),
        ("/users/josé@exämple.de/orders", f"/users/{REDACTED}/orders"),
        ("/external/users/12 Rue de la Paix/orders/7", f"/external/users/{REDACTED}/orders/7"),
        ("/external/users/Jane%20Doe%2C%20Main%20St/orders", f"/external/users/{REDACTED}/orders"),
        ("/external/orders/221B Baker Street", f"/external/orders/{REDACTED}"),
        ("/users/42/orders/17", "/users/42/orders/17"),
    ],
)
def test_every_id_a_client_chose_is_masked_by_its_place_in_the_path(path: str, masked: str) -> None:
    assert redact_text(f"GET /priv/v1/apps/k{path}") == f"GET /priv/v1/apps/{REDACTED}{masked}"


@pytest.mark.parametrize(
    "email", ["josé@exämple.de", "用户@例子.中国", "jane%40example.com", "o'neil@xn--bcher-kva.ch"]
)
def test_internationalised_and_encoded_emails_are_masked(email: str) -> None:
    assert redact_text(f"sent to {email} today") == "sent to [email] today"


def test_a_store_error_is_logged_without_its_message_or_parameters(
    rendered: io.BytesIO,
) -> None:
    """A driver's message can quote the client's value; the statement's parameters too."""
    driver = ValueError(f"invalid input for query argument $1: '{STREET}\x00'")
    try:
        try:
            raise sa.exc.DataError("SELECT 1 WHERE x = $1", (STREET,), driver)
        except sa.exc.DataError as exc:
            raise RuntimeError("lookup failed") from exc
    except RuntimeError:
        structlog.get_logger().exception("request_failed")
    output = rendered.getvalue().decode()
    assert STREET not in output
    assert "sqlalchemy.exc.DataError: [message hidden] [SQL: SELECT 1 WHERE x = $1]" in output
    assert "direct cause" in output
    assert "RuntimeError: lookup failed" in output


def test_versions_and_times_are_left_alone() -> None:
    assert redact_text("aiohttp 3.14.5 at 2026-11-25T21:48:52Z") == (
        "aiohttp 3.14.5 at 2026-11-25T21:48:52Z"
    )


def test_a_traceback_is_redacted_before_rendering(rendered: io.BytesIO) -> None:
    try:
        raise ValueError(f"no customer with email {EMAIL} at {IPV4}")
    except ValueError:
        structlog.get_logger().exception("lookup_failed", ip=IPV4)
    output = rendered.getvalue().decode()
    assert "lookup_failed" in output
    assert EMAIL not in output
    assert IPV4 not in output


def test_a_traceback_keeps_the_file_names_of_its_frames(rendered: io.BytesIO) -> None:
    """`bridge/orders/service.py` is a source file, not an order id to hide."""
    frame = 'File "/srv/bridge/orders/service.py", line 70, in create'
    assert redact_text(frame) == frame
    assert redact_text(f"GET /orders/{STREET}") == f"GET /orders/{REDACTED}"
    try:
        canonical_ip("not an address")
    except ValueError:
        structlog.get_logger().exception("order_failed")
    assert "bridge/orders/guards.py" in rendered.getvalue().decode()


def test_rendered_lines_are_json_with_level_and_timestamp(rendered: io.BytesIO) -> None:
    structlog.get_logger().info("tested", answer=42)
    line = orjson.loads(rendered.getvalue().splitlines()[-1])
    assert line["event"] == "tested"
    assert line["level"] == "info"
    assert line["answer"] == 42
    assert line["timestamp"].endswith("Z")


async def send_personal_data(client: TestClient[Any, Any]) -> None:
    order = {"quantity": 1, "email": EMAIL, "ip": IPV4, "shipping_address": ADDRESS}
    headers = {**basic_auth(), "X-Forwarded-For": f"{IPV4}, {IPV6}", "X-Request-ID": EMAIL}
    await client.post(
        f"{PREFIX}/users/demo-user-1/offers/2/orders", json={"order": order}, headers=headers
    )
    await client.post(
        f"{PREFIX}/users/{EMAIL}/offers/1/orders", json={"order": order}, headers=headers
    )
    await client.get(f"{PREFIX}/external/users/{EMAIL}/orders", headers=headers)
    await client.get(f"{PREFIX}/users/demo-user-1/orders", headers=basic_auth(secret=SECRET))
    await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        data=f'{{"order": {{"email": "{EMAIL}", "ip": "{IPV4}"',
        headers=headers,
    )


def assert_no_personal_data(output: str) -> None:
    assert output.count("request_completed") == 5
    for value in PERSONAL:
        assert value not in output


async def test_requests_full_of_personal_data_leave_none_in_the_logs(
    rendered: io.BytesIO, client: TestClient[Any, Any]
) -> None:
    await send_personal_data(client)
    assert_no_personal_data(rendered.getvalue().decode())


async def test_nor_on_the_incentives_target(
    rendered: io.BytesIO, incentives_client: TestClient[Any, Any]
) -> None:
    """Upstream calls log their paths; the Core lookup's path holds the external id."""
    await send_personal_data(incentives_client)
    output = rendered.getvalue().decode()
    assert "upstream_refused" in output
    assert_no_personal_data(output)
