"""The readiness verdict and the authenticated views (`/_bridge/shadow`, `/_bridge/`)."""

from __future__ import annotations

import base64

import pytest

from bridge.shadow.config import ShadowSettings
from bridge.shadow.report import verdict
from bridge.store.shadow_diffs import Scope
from tests.shadow.conftest import ADMIN_TOKEN, BridgeFactory

CONFIG = ShadowSettings(ready_min_comparisons=10, ready_match_rate=0.9, ready_window_hours=24)


def window(
    match: int, mismatch: int = 0, error: int = 0, not_comparable: int = 0, **codes: int
) -> Scope:
    results = {"match": match, "mismatch": mismatch, "error": error}
    return Scope("demo", "get_order", "shadow", results | {"not_comparable": not_comparable}, codes)


def test_enough_matching_comparisons_are_ready() -> None:
    assert verdict(window(9, 1), CONFIG) == {
        "ready": True,
        "state": "ready",
        "reasons": [],
        "window_comparisons": 10,
        "window_match_rate": 0.9,
        "window_errors": 0,
        "window_not_comparable": 0,
    }


def test_errors_and_not_comparable_calls_do_not_count_as_mismatches() -> None:
    found = verdict(window(10, error=0, not_comparable=50), CONFIG)
    assert (found["state"], found["window_match_rate"]) == ("ready", 1.0)
    assert verdict(window(10, error=1), CONFIG)["state"] == "ready"  # 10/11 still >= 90%


@pytest.mark.parametrize(
    ("given", "state"),
    [
        (window(5, error=5), "undecidable"),  # too few compared, enough with the errors
        (window(9, 0, error=2), "undecidable"),  # 9/11 < 90% if they had all mismatched
        (window(3, error=2), "not_ready"),  # too few even if every error had matched
        (window(8, 2, error=5), "not_ready"),  # 80% already
        (window(10, error=1, internal_server_error=1), "not_ready"),
    ],
)
def test_errors_that_could_tip_the_verdict_make_it_undecidable(given: Scope, state: str) -> None:
    found = verdict(given, CONFIG)
    assert (found["state"], found["ready"]) == (state, False)
    if state == "undecidable":
        assert found["reasons"][0].startswith(f"{given.results['error']} shadow calls failed")


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
