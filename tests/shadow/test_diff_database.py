"""`BRIDGE_SHADOW__DIFFS_DATABASE_URL`: comparisons and id pairs kept apart from the orders."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import orjson
import pytest

from bridge.settings import Settings
from bridge.shadow import commands
from bridge.shadow.config import ShadowSettings
from bridge.store import tables as t
from tests.conftest import PREFIX, basic_auth
from tests.cutover.conftest import demo_apps, fresh_store
from tests.shadow.conftest import BridgeFactory, bridge_db, count_rows, settle, shadow_policy

USER = f"{PREFIX}/users/demo-user-1"


async def test_diffs_live_in_their_own_database_when_one_is_set(
    shadow_bridge: BridgeFactory,
    tmp_path: Path,
    email_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    diffs = await fresh_store(tmp_path / "diffs.db", email_key, demo=False)
    client = await shadow_bridge(
        shadow_policy("local", "incentives", side_effect_free=True),
        shadow={"diffs_database_url": diffs},
    )
    answer = await client.post(
        f"{USER}/offers/1/orders", json={"order": {"quantity": 1}}, headers=basic_auth()
    )
    assert answer.status == 200
    await settle(diffs, 1)
    assert await count_rows(bridge_db(tmp_path), t.shadow_comparisons) == 0
    assert await count_rows(diffs, t.orders) == 0
    settings = Settings(
        database_url=bridge_db(tmp_path),
        apps=demo_apps(),
        email_keys=(email_key,),
        shadow=ShadowSettings(diffs_database_url=diffs),
    )
    args = argparse.Namespace(
        command="shadow", shadow_action="report", app=None, since="2026-01-01", json=True
    )
    assert await asyncio.to_thread(commands.run, args, settings) == 0
    printed = orjson.loads(capsys.readouterr().out.splitlines()[-1])
    assert sum(row["comparisons"] for row in printed["operations"]) == 1
