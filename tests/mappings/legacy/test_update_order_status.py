"""mappings.legacy.update_order_status over HTTP: the requested status and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.legacy_api import NO_BODY, LegacyApi


@pytest.mark.parametrize(
    "body",
    [
        NO_BODY,
        {},
        {"order": {}},
        {"order": {"status": None}},
        {"order": {"status": ""}},
        {"order": {"status": " "}},
    ],
)
async def test_a_missing_status_is_missing_data(api: LegacyApi, body: Any) -> None:
    pending = (await api.create(status="pending_approval")).order
    assert (await api.update(pending["id"], body=body)).code == "missing_data"


@pytest.mark.parametrize("status", ["shipped", "APPROVED", " approved"])
async def test_a_value_that_is_no_order_status_is_invalid_request_order_status(
    api: LegacyApi, status: str
) -> None:
    pending = (await api.create(status="pending_approval")).order
    assert (await api.update(pending["id"], status)).code == "invalid_request_order_status"


async def test_a_refused_status_leaves_the_order_as_it_was(api: LegacyApi) -> None:
    pending = (await api.create(status="pending_approval")).order
    await api.update(pending["id"], "shipped")
    assert (await api.get(pending["id"])).order["status"] == "pending_approval"
