"""The client models refuse what their clients could not read, so the contract tests can fail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clients.models import ClientParseError, CSharpResponse, IosOrder

ORDER: dict[str, Any] = {
    "id": 7,
    "offer_id": 1,
    "user_id": "demo-user-1",
    "user": {"id": "demo-user-1", "available_points": 9900},
    "quantity": 1,
    "points": 100,
    "status": "approved",
    "created_at": "2026-12-05 13:04:45",
    "name": "Electronic Giftcard",
    "offer_type": "reward",
}


def csharp(order: dict[str, Any]) -> CSharpResponse:
    return CSharpResponse.read(json.dumps({"status": "ok", "order": order}).encode())


def test_a_well_formed_order_reads_with_both_models() -> None:
    read = csharp(ORDER)
    assert read.order is not None
    assert (read.order.id, read.order.logo) == (7, None)
    assert IosOrder.read(ORDER).order_id == "7"


@pytest.mark.parametrize(
    "change",
    [
        {"id": "7"},
        {"id": None},
        {"id": 2**31},
        {"points": 1.5},
        {"quantity": True},
        {"offer_id": "1"},
        {"user_id": 5},
        {"created_at": "2026-12-05T13:04:45Z"},
        {"logo": 3},
    ],
    ids=repr,
)
def test_the_csharp_model_refuses_a_value_of_another_type(change: dict[str, Any]) -> None:
    """Newtonsoft fails on most of these; a number for `user_id` it would turn into a string,
    but the seed types `user_id` as one, so the checker holds the bridge to that."""
    with pytest.raises(ClientParseError):
        csharp({**ORDER, **change})


@pytest.mark.parametrize(
    "change",
    [
        {"status": "shipped"},
        {"points": "100"},
        {"user": {"available_points": 1}},
        {"user": {"id": "u", "available_points": "0"}},
        {"id": None},
        {"data": []},
    ],
    ids=repr,
)
def test_the_ios_model_refuses_what_smorder_could_not_read(change: dict[str, Any]) -> None:
    with pytest.raises(ClientParseError):
        IosOrder.read({**ORDER, **change})
