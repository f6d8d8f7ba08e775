"""One middleware renders every error as the legacy envelope, with no internals in the body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from bridge.app import MAX_BODY_BYTES
from tests.legacy_api import USER, LegacyApi


async def test_an_unknown_route_answers_the_legacy_404_envelope(api: LegacyApi) -> None:
    answer = await api.call("GET", "/priv/v1/apps/demo-api-key/rewards")
    assert (answer.status, answer.code) == (404, "not_found")


async def test_a_method_a_route_does_not_take_answers_405_in_the_envelope(api: LegacyApi) -> None:
    answer = await api.call("DELETE", "/priv/v1/apps/demo-api-key/orders/1")
    assert (answer.status, answer.code) == (405, "not_found")


async def test_a_405_names_the_methods_the_route_takes(api: LegacyApi) -> None:
    response = await api.client.delete("/priv/v1/apps/demo-api-key/orders/1")
    assert set(response.headers["Allow"].split(",")) == {"POST", "PUT"}


async def test_malformed_json_is_an_argument_error(api: LegacyApi) -> None:
    answer = await api.create(body=b'{"order": {"quantity": 1')
    assert (answer.status, answer.code) == (200, "argument_error")


async def test_a_body_over_the_size_limit_is_refused_in_the_envelope(api: LegacyApi) -> None:
    padding = "x" * MAX_BODY_BYTES
    answer = await api.create(body={"order": {"quantity": 1, "note": padding}})
    assert (answer.status, answer.code) == (413, "argument_error")


async def test_a_body_over_the_size_limit_places_no_order(api: LegacyApi) -> None:
    await api.create(body={"order": {"note": "x" * MAX_BODY_BYTES}})
    assert (await api.list()).orders == []


async def test_an_internal_failure_is_a_500_envelope_without_internals(
    start_api: Callable[..., Awaitable[LegacyApi]], tmp_path: Path
) -> None:
    unmigrated = await start_api(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    answer = await unmigrated.list(USER)
    assert (answer.status, answer.body["errors"]) == (
        500,
        {"code": "internal_server_error", "message": "Internal server error."},
    )
