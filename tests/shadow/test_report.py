"""The readiness verdict and the authenticated views (`/_bridge/shadow`, `/_bridge/`)."""

from __future__ import annotations

import base64

import pytest

from bridge.shadow.config import ShadowSettings
from bridge.shadow.report import verdict
from bridge.store.shadow_diffs import Scope
from tests.shadow.conftest import ADMIN_TOKEN, BridgeFactory

CONFIG = ShadowSettings(ready_min_comparisons=10, ready_match_rate=0.9, ready_window_hours=24)


def window(match: int, mismatch: int = 0, **codes: int) -> Scope:
    return Scope("demo", "get_order", "shadow", {"match": match, "mismatch": mismatch}, codes)


def test_enough_matching_comparisons_are_ready() -> None:
    assert verdict(window(9, 1), CONFIG) == {
        "ready": True,
        "reasons": [],
        "window_comparisons": 10,
        "window_match_rate": 0.9,
    }


def test_too_few_comparisons_are_not_ready() -> None:
    assert verdict(window(9), CONFIG)["reasons"] == ["9 of 10 comparisons needed in the last 24 h"]


def test_a_match_rate_below_the_threshold_is_not_ready() -> None:
    assert verdict(window(8, 2), CONFIG)["reasons"] == ["match rate 80.00% is below 90.00%"]


def test_an_unmapped_error_code_blocks_readiness() -> None:
    found = verdict(window(10, internal_server_error=1), CONFIG)
    assert found["reasons"] == ["unmapped error code seen: internal_server_error"]


def test_no_comparisons_at_all_are_not_ready() -> None:
    assert verdict(None, CONFIG)["ready"] is False


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"admin:{token}".encode()).decode()


@pytest.mark.parametrize("path", ["/_bridge/shadow", "/_bridge/"])
@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        (f"Bearer {ADMIN_TOKEN}", 200),
        (basic("wrong"), 401),
        (basic(ADMIN_TOKEN), 200),
    ],
)
async def test_the_views_need_the_admin_token(
    shadow_bridge: BridgeFactory, path: str, authorization: str | None, status: int
) -> None:
    client = await shadow_bridge(None, shadow_store=False)
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get(path, headers=headers)
    assert response.status == status


async def test_the_status_page_asks_a_browser_for_credentials(
    shadow_bridge: BridgeFactory,
) -> None:
    client = await shadow_bridge(None)
    response = await client.get("/_bridge/")
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


async def test_without_an_admin_token_the_views_do_not_exist(
    shadow_bridge: BridgeFactory,
) -> None:
    client = await shadow_bridge(None, admin_token=None)
    response = await client.get("/_bridge/shadow", headers={"Authorization": "Bearer x"})
    assert response.status == 404


async def test_a_bad_since_is_a_legacy_argument_error(shadow_bridge: BridgeFactory) -> None:
    client = await shadow_bridge(None)
    response = await client.get(
        "/_bridge/shadow?since=yesterday", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert (await response.json())["errors"]["code"] == "argument_error"
