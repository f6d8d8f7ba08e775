"""The recorder's redaction of paths and bodies (the end-to-end file check is in
test_personal_data.py)."""

from __future__ import annotations

from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.recorder import record_line, redacted_path
from tests.cutover.conftest import demo_apps

KEY = "demo-api-key"


def test_the_api_key_becomes_a_placeholder() -> None:
    assert redacted_path(f"/priv/v1/apps/{KEY}/users/u1/orders", KEY) == (
        "/priv/v1/apps/{api_key}/users/u1/orders"
    )


def test_an_email_in_the_path_and_an_ip_in_the_query_are_masked() -> None:
    path = f"/priv/v1/apps/{KEY}/external/users/jane%40example.org/orders?ip=198.51.100.1&limit=5"
    assert redacted_path(path, KEY) == (
        "/priv/v1/apps/{api_key}/external/users/%5Bemail%5D/orders?ip=%5Bip%5D&limit=5"
    )


def test_an_encoded_slash_stays_inside_its_segment() -> None:
    assert redacted_path(f"/priv/v1/apps/{KEY}/users/u%2F1/orders", KEY).endswith("/u%2F1/orders")


def test_sensitive_body_fields_are_redacted_and_no_header_is_kept() -> None:
    body = b'{"order": {"quantity": 1, "email": "a@b.org", "shipping_address": {"city": "X"}}}'
    exchange = Exchange(
        app=demo_apps()[0],
        operation=Operation.CREATE_ORDER,
        method="POST",
        raw_path=f"/priv/v1/apps/{KEY}/users/u1/offers/1/orders",
        match_info={},
        query={},
        headers=(("Authorization", "Basic c2VjcmV0"),),
        body=body,
        primary_target=Target.LOCAL,
        primary=Answer(200, b"{}"),
    )
    assert record_line(exchange) == {
        "app": "demo",
        "operation": "create_order",
        "method": "POST",
        "path": "/priv/v1/apps/{api_key}/users/u1/offers/1/orders",
        "body": {"order": {"quantity": 1, "email": "[redacted]", "shipping_address": "[redacted]"}},
    }
