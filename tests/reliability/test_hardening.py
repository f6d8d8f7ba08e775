"""Bad input of every kind gets a clear legacy error, never a 5xx or a trace.

Each case is sent to a real bridge (demo apps and data). A clean answer is the legacy
envelope `{"status":"error","errors":{"code","message"}}` with a legacy code and a status
below 500 (or, where the input is merely odd but valid, a normal `ok` answer).
Already covered elsewhere and not repeated here: the 64 KiB limit with a Content-Length
(tests/legacy/test_middleware.py), every malformed Basic header (tests/legacy/test_auth.py),
the passthrough header allow-list (tests/cutover/test_passthrough.py), admin tokens of the
shadow pages (tests/shadow/), email key rotation (tests/email/test_key_rotation.py).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.canonical import ErrorCode
from tests.conftest import PREFIX, basic_auth

CODES = {code.value for code in ErrorCode}
USER = f"{PREFIX}/users/demo-user-1"
CREATE = f"{USER}/offers/1/orders"
ODD_TEXT = [
    "\x00",
    "a\x00b",
    "\x1b[31mred",
    "line\r\nInjected-Header: 1",
    "\u202eevil",
    "\ud83d\ude00",  # a lone surrogate pair written as escapes: two lone surrogates
    "😀" * 50,
    "ß" * 300,
    "x" * 10_000,
    "../../etc/passwd",
    "%00",
    "",
    " ",
]
STRING_FIELDS = [
    ("email",),
    ("ip",),
    ("external_id",),
    ("status",),
    ("shipping_address", "addressee"),
    ("shipping_address", "street1"),
    ("shipping_address", "street2"),
    ("shipping_address", "city"),
    ("shipping_address", "state_province"),
    ("shipping_address", "country"),
    ("shipping_address", "postal_code"),
]
NUMBERS: list[Any] = [-1, 0, 2**31, 2**63, 10**30, -(10**30), 1e308, 1.5, "1", True, None, [], {}]


def order_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "quantity": 1,
        "shipping_address": {
            "addressee": "A B",
            "street1": "1 Main St",
            "city": "Boston",
            "state_province": "MA",
            "country": "US",
            "postal_code": "02110",
        },
    }
    if len(path) == 1:
        order[path[0]] = value
    else:
        order[path[0]][path[1]] = value
    return {"order": order}


async def clean(answer: Any, *, may_succeed: bool = False) -> dict[str, Any]:
    """The answer is a legacy envelope below 500; an error names a legacy code."""
    text = await answer.text()
    assert answer.status < 500, text
    assert "Traceback" not in text
    body: dict[str, Any] = await answer.json(content_type=None)
    if body.get("status") == "ok" and may_succeed:
        return body
    assert body["status"] == "error", body
    assert body["errors"]["code"] in CODES
    assert body["errors"]["message"]
    return body


@pytest.mark.parametrize("field", STRING_FIELDS, ids=".".join)
async def test_odd_text_in_every_string_field_is_answered_cleanly(
    client: TestClient[Any, Any], field: tuple[str, ...]
) -> None:
    for value in ODD_TEXT:
        answer = await client.post(
            f"{PREFIX}/users/demo-user-1/offers/2/orders",
            json=order_with(field, value),
            headers=basic_auth(),
        )
        await clean(answer, may_succeed=True)


@pytest.mark.parametrize("value", NUMBERS, ids=repr)
async def test_odd_numbers_as_quantity_are_refused_or_ordinary(
    client: TestClient[Any, Any], value: Any
) -> None:
    answer = await client.post(CREATE, json={"order": {"quantity": value}}, headers=basic_auth())
    # "1": lax, as Rails reads it; {}: an object of no values is "not given" (docs/clients.md)
    await clean(answer, may_succeed=value in (1, None, "1", {}))


@pytest.mark.parametrize("value", NUMBERS[:8], ids=repr)
async def test_odd_numbers_as_challenge_id_are_refused(
    client: TestClient[Any, Any], value: Any
) -> None:
    body = {"order": {"quantity": 1, "challenge": {"id": value}}}
    answer = await client.post(f"{PREFIX}/users/demo-user-ca/offers/3/orders", json=body,
                               headers=basic_auth())  # fmt: skip
    await clean(answer)


PATHS = [
    f"{PREFIX}/users/demo-user-1/orders/-1",
    f"{PREFIX}/users/demo-user-1/orders/{10**40}",
    f"{PREFIX}/users/demo-user-1/orders/1e3",
    f"{PREFIX}/users/{'u' * 5000}/orders",
    f"{PREFIX}/users/demo-user-1/orders/{'9' * 5000}",
    f"{PREFIX}/external/orders/{'e' * 5000}",
    f"{PREFIX}/users/..%2F..%2Fetc%2Fpasswd/orders",
    f"{PREFIX}/users/%2e%2e/orders",
    f"{PREFIX}/users/demo-user-1/../../../../etc/passwd",
    f"{PREFIX}/users/%00/orders",
    f"{PREFIX}/users/%C0%AE%C0%AE/orders",
    f"{PREFIX}/users/demo-user-1/orders?limit=-5",
    f"{PREFIX}/users/demo-user-1/orders?limit={10**30}",
    f"{PREFIX}/users/demo-user-1/orders?page=0",
    f"{PREFIX}/users/demo-user-1/orders?page={10**30}",
    f"{PREFIX}/users/demo-user-1/orders?after=9999-99-99",
    f"{PREFIX}/users/demo-user-1/orders?between=2020-01-01,",
    f"{PREFIX}/users/demo-user-1/orders?before=%00",
    "/priv/v1/apps/%2e%2e/users/demo-user-1/orders",
    f"/priv/v1/apps/{'k' * 5000}/users/demo-user-1/orders",
]


@pytest.mark.parametrize("path", PATHS, ids=range(len(PATHS)))
async def test_odd_paths_and_queries_are_answered_cleanly(
    client: TestClient[Any, Any], path: str
) -> None:
    answer = await client.get(path, headers=basic_auth())
    await clean(answer, may_succeed=True)


BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"{not json"),
    ("application/json", b"[]"),
    ("application/json", b'"order"'),
    ("application/json", b"null"),
    ("application/json", b'{"order": []}'),
    ("application/json", b'{"order": "x"}'),
    ("application/json", b'{"order": {"quantity": 1}' + b"}" * 10),
    ("application/json", b'{"order":' * 5000 + b"{}" + b"}" * 5000),
    ("application/json", b"\xff\xfe\x00"),
    ("application/json", b'{"order": {"quantity": NaN}}'),
    ("application/json", b'{"order": {"quantity": 1, "quantity": 2}}'),
    ("text/plain", b'{"order": {"quantity": 1}}'),
    ("application/x-www-form-urlencoded", b"order[quantity]=1"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--"),
    ("application/xml", b"<order><quantity>1</quantity></order>"),
]


@pytest.mark.parametrize(("content_type", "body"), BODIES, ids=range(len(BODIES)))
async def test_malformed_bodies_and_content_types_are_answered_cleanly(
    client: TestClient[Any, Any], content_type: str, body: bytes
) -> None:
    headers = {**basic_auth(), "Content-Type": content_type}
    answer = await client.post(CREATE, data=body, headers=headers)
    # a JSON body is read whatever its declared type; a repeated name keeps its last value
    await clean(answer, may_succeed=content_type == "text/plain" or body.count(b"quantity") == 2)


async def test_a_chunked_body_over_the_limit_is_refused_in_the_envelope(
    client: TestClient[Any, Any],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"order": {"quantity": 1, "email": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'"}}'

    answer = await client.post(CREATE, data=chunks(), headers=basic_auth())
    body = await clean(answer)
    assert (answer.status, body["errors"]["code"]) == (413, "argument_error")


SAMPLES = 120


async def median_refusal(client: TestClient[Any, Any], key: str, rounds: list[float]) -> None:
    started = time.perf_counter()
    answer = await client.get(f"/priv/v1/apps/{key}/users/demo-user-1/orders",
                              headers=basic_auth(key, "wrong-secret"))  # fmt: skip
    await answer.read()
    rounds.append(time.perf_counter() - started)
    assert answer.status == 401


async def test_a_refusal_takes_as_long_whether_the_key_exists_or_not(
    client: TestClient[Any, Any],
) -> None:
    """Medians of interleaved samples within a factor of 1.5 of each other (no absolute time)."""
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(SAMPLES):
        await median_refusal(client, "demo-api-key", known)
        await median_refusal(client, "demo-api-kez", unknown)
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 1 / 1.5 < ratio < 1.5, ratio


ADMIN_ROUTES = ["/_bridge/policy", "/_bridge/shadow", "/_bridge/"]


@pytest.mark.parametrize("route", ADMIN_ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic d3Jvbmc6d3Jvbmc=", "Bearer ", "admin-token-123"],
)
async def test_admin_routes_refuse_a_missing_or_wrong_token(
    bridge_client: Any, route: str, authorization: str | None
) -> None:
    client = await bridge_client(admin_token="admin-token-123")
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await client.get(route, headers=headers)
    assert answer.status in (401, 403, 404), await answer.text()
    assert "shadow" not in (await answer.text()).lower() or answer.status != 200
