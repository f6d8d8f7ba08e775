"""Legacy authentication: the path's api_key names an app, HTTP Basic key:secret proves it."""

from __future__ import annotations

import base64

import pytest
from structlog.testing import capture_logs

from tests.conftest import API_SECRET, basic_auth
from tests.legacy_api import USER, LegacyApi

ROUTES = [
    ("POST", f"{USER}/offers/1/orders"),
    ("POST", "external/users/ext-demo-1/offers/1/orders"),
    ("GET", f"{USER}/orders"),
    ("GET", "external/users/ext-demo-1/orders"),
    ("GET", f"{USER}/orders/1"),
    ("GET", "external/users/ext-demo-1/orders/1"),
    ("POST", "orders/1"),
    ("PUT", "orders/1"),
    ("POST", "external/orders/shop-1"),
    ("PUT", "external/orders/shop-1"),
]


def _basic(token: str) -> str:
    return f"Basic {base64.b64encode(token.encode()).decode()}"


@pytest.mark.parametrize(("method", "rest"), ROUTES)
async def test_every_route_refuses_a_call_without_credentials(
    api: LegacyApi, method: str, rest: str
) -> None:
    answer = await api.as_caller().call(method, f"/priv/v1/apps/demo-api-key/{rest}", {})
    assert (answer.status, answer.code) == (401, "access_denied")


async def test_an_api_key_no_app_has_is_invalid_api_key(api: LegacyApi) -> None:
    caller = api.as_caller("no-such-key", **basic_auth("no-such-key", API_SECRET))
    answer = await caller.list()
    assert (answer.status, answer.code) == (401, "invalid_api_key")


async def test_an_unknown_api_key_is_reported_before_missing_credentials(api: LegacyApi) -> None:
    answer = await api.as_caller("no-such-key").list()
    assert (answer.status, answer.code) == (401, "invalid_api_key")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(_basic("demo-api-key:wrong-secret"), id="wrong-secret"),
        pytest.param(_basic(f"other-key:{API_SECRET}"), id="username-is-not-the-path-key"),
        pytest.param(_basic(f"demo-api-key{API_SECRET}"), id="no-colon"),
        pytest.param("Basic !!not-base64!!", id="not-base64"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), id="not-utf8"),
        pytest.param(f"Bearer {API_SECRET}", id="not-basic"),
        pytest.param("Basic", id="no-token"),
    ],
)
async def test_wrong_or_malformed_basic_credentials_are_access_denied(
    api: LegacyApi, authorization: str
) -> None:
    answer = await api.as_caller(Authorization=authorization).list()
    assert (answer.status, answer.code) == (401, "access_denied")


async def test_the_scheme_name_is_case_insensitive(api: LegacyApi) -> None:
    token = base64.b64encode(f"demo-api-key:{API_SECRET}".encode()).decode()
    assert (await api.as_caller(Authorization=f"basic {token}").list()).orders == []


async def test_a_refused_secret_never_reaches_the_logs(api: LegacyApi) -> None:
    secret = "attempted-secret-4c1d"
    with capture_logs() as logs:
        await api.as_caller(**basic_auth(secret=secret)).list()
    assert logs
    assert secret not in repr(logs)
