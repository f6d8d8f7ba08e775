"""After a run full of marked personal data and secrets, none is found anywhere it must not be.

One bridge (legacy primary, every call shadowed to local on a shadow store, admin token set)
takes orders, reads and refused calls carrying marked personal data. Then the rendered logs,
every error answer, the /metrics page, the shadow report and the diff store tables are
searched for each marker and for the secrets (api secret, admin token, email key).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from aiohttp.test_utils import TestClient, TestServer

from bridge.observability.logging import configure_logging
from bridge.store import tables as t
from tests.conftest import API_SECRET, PREFIX, basic_auth
from tests.queries import rows_at
from tests.shadow.conftest import (
    ADMIN_TOKEN,
    BridgeFactory,
    bridge_db,
    settle,
    shadow_bridge,
    url_of,
)

__all__ = ["shadow_bridge"]

EMAIL = "pii.marker.7731@example.org"
IP = "198.51.100.77"
STREET = "77 Marker Lane"
ADDRESSEE = "Mara Kerr"
ADDRESS = {
    "addressee": ADDRESSEE,
    "street1": STREET,
    "city": "Springfield",
    "state_province": "IL",
    "country": "US",
    "postal_code": "62701",
}
PERSONAL = (EMAIL, IP, STREET, ADDRESSEE)
DIFF_TABLES = (t.shadow_comparisons, t.shadow_differences, t.shadow_samples)


@pytest.fixture
def rendered() -> Iterator[io.BytesIO]:
    stream = io.BytesIO()
    configure_logging("json", "debug", stream=stream, cache_loggers=False)
    yield stream
    structlog.reset_defaults()


async def run_with_marked_data(client: TestClient[Any, Any]) -> list[str]:
    """Orders, reads and refusals carrying the markers; the text of every error answer."""
    order = {"quantity": 1, "email": EMAIL, "ip": IP, "shipping_address": ADDRESS}
    headers = {**basic_auth(), "X-Forwarded-For": IP}
    calls = [
        ("POST", f"{PREFIX}/users/demo-user-1/offers/2/orders", {"order": order}, headers),
        ("POST", f"{PREFIX}/users/{EMAIL}/offers/1/orders", {"order": order}, headers),
        ("POST", f"{PREFIX}/users/demo-user-1/offers/1/orders",
         {"order": {**order, "email": f"{EMAIL} x"}}, headers),
        ("POST", f"{PREFIX}/users/demo-user-1/offers/1/orders",
         {"order": {**order, "ip": f"{IP}.1"}}, headers),
        ("GET", f"{PREFIX}/external/users/{EMAIL}/orders", None, headers),
        ("GET", f"{PREFIX}/users/demo-user-1/orders?ip={IP}", None, headers),
        ("GET", f"{PREFIX}/users/demo-user-1/orders", None, basic_auth(secret=API_SECRET + "x")),
    ]  # fmt: skip
    errors = []
    for method, path, body, call_headers in calls:
        answer = await client.request(method, path, json=body, headers=call_headers)
        text = await answer.text()
        if '"status":"error"' in text.replace(" ", ""):
            errors.append(text)
    return errors


async def diff_store_text(url: str) -> str:
    rows = [repr(row) for table in DIFF_TABLES for row in await rows_at(url, sa.select(table))]
    return "\n".join(rows)


async def test_no_personal_data_or_secret_in_logs_errors_metrics_or_diff_store(
    rendered: io.BytesIO,
    shadow_bridge: BridgeFactory,
    legacy_server: Callable[..., Awaitable[TestServer]],
    tmp_path: Path,
    email_key: str,
) -> None:
    legacy = await legacy_server()
    policy = {"apps": {"demo": {"target": "legacy", "shadow": {"target": "local"}}}}
    client = await shadow_bridge(policy, legacy_url=url_of(legacy))

    errors = await run_with_marked_data(client)
    await settle(bridge_db(tmp_path), 5)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    places = {
        "logs": rendered.getvalue().decode(),
        "errors": "\n".join(errors),
        "metrics": await (await client.get("/metrics")).text(),
        "report": await (await client.get("/_bridge/shadow", headers=admin)).text(),
        "diff store": await diff_store_text(bridge_db(tmp_path)),
    }

    assert len(errors) >= 3
    assert "request_completed" in places["logs"]
    assert "shadow_compared" in places["logs"]
    assert places["diff store"]
    for place, text in places.items():
        for needle in (*PERSONAL, API_SECRET, ADMIN_TOKEN, email_key):
            assert needle not in text, (place, needle)
