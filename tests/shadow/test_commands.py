"""`orders-bridge shadow report` and `orders-bridge replay` on real stores and servers."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from bridge.settings import Settings
from bridge.shadow import commands
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import demo_apps
from tests.shadow.conftest import BridgeFactory, bridge_db, render_on_the_shadow_side, url_of
from tests.shadow.test_comparison import (
    list_compared,
    points_plus_one,
)

ServerFactory = Callable[..., Awaitable[TestServer]]
USER = f"{PREFIX}/users/demo-user-1"


def settings_for(url: str, email_key: str) -> Settings:
    return Settings(database_url=url, apps=demo_apps(), email_keys=(email_key,))


async def run(capsys: pytest.CaptureFixture[str], settings: Settings, **args: Any) -> str:
    status = await asyncio.to_thread(commands.run, argparse.Namespace(**args), settings)
    assert status == 0
    captured = capsys.readouterr()
    if args["command"] == "replay":
        assert "\r" not in captured.err  # no progress bar off a terminal (tqdm disable=None)
    return captured.out


@pytest.fixture
async def mismatched_store(
    shadow_bridge: BridgeFactory,
    legacy_server: ServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A bridge store holding one list_orders mismatch (orders[].points, 200 vs 201)."""
    render_on_the_shadow_side(monkeypatch, "ok_orders", points_plus_one)
    await list_compared(shadow_bridge, legacy_server, tmp_path)
    return bridge_db(tmp_path)


REPORT = {"command": "shadow", "shadow_action": "report", "app": None, "since": "2026-01-01"}


async def test_shadow_report_prints_a_table_with_fields_and_samples(
    mismatched_store: str, email_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = await run(capsys, settings_for(mismatched_store, email_key), **REPORT, json=False)
    assert (
        "demo             list_orders                0        1       0       0    0.0%  not ready"
        in out
    )
    assert "orders[].points [value] x1: primary=200 candidate=201" in out


async def test_shadow_report_json_filters_by_app(
    mismatched_store: str, email_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(mismatched_store, email_key)
    out = await run(capsys, settings, **(REPORT | {"app": "other"}), json=True)
    assert orjson.loads(out.splitlines()[-1])["operations"] == []


async def test_replay_compares_recorded_requests_on_two_targets(
    legacy_server: ServerFactory,
    tmp_path: Path,
    email_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    primary, candidate = await legacy_server(), await legacy_server()
    async with aiohttp.ClientSession() as session:
        placed = await session.post(
            f"{url_of(primary)}{USER}/offers/1/orders",
            json={"order": {"quantity": 1}},
            headers=basic_auth(),
        )
        assert placed.status == 200
    recording = tmp_path / "requests.jsonl"
    user = "/priv/v1/apps/{api_key}/users/demo-user-1"
    lines = [
        {"app": "demo", "operation": "list_orders", "method": "GET", "path": f"{user}/orders"},
        {"app": "demo", "operation": "get_order", "method": "GET", "path": f"{user}/orders/1"},
        {
            "app": "demo",
            "operation": "create_order",
            "method": "POST",
            "path": f"{user}/offers/1/orders",
        },
    ]
    recording.write_bytes(b"".join(orjson.dumps(line | {"body": None}) + b"\n" for line in lines))
    args = {
        "command": "replay",
        "file": recording,
        "primary": url_of(primary),
        "candidate": url_of(candidate),
        "include_writes": False,
        "json": True,
    }
    settings = settings_for(f"sqlite:///{tmp_path / 'unused.db'}", email_key)
    report = orjson.loads((await run(capsys, settings, **args)).splitlines()[-1])
    found = {
        row["operation"]: [(item["path"], item["kind"]) for item in row["fields"]]
        for row in report["operations"]
    }
    assert report["replay"] == {"requests": 3, "skipped": 1}
    assert found["list_orders"] == [("orders[]", "missing")]
    assert ("http_status", "value") in found["get_order"]
