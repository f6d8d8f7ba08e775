"""`POST /_bridge/policy/reload`: the process that answers re-reads its policy file now."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cutover.test_reload import LEGACY, LOCAL, TOKEN, Bridge, rewrite, version


async def test_reload_applies_the_file_at_once_and_answers_the_new_version(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge(
        "http://legacy.invalid", LEGACY, admin_token=TOKEN, policy_poll_seconds=3600
    )
    expected = rewrite(tmp_path / "policy.yaml", LOCAL)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with bridge.post("/_bridge/policy/reload", headers=headers) as answer:
        body = orjson.loads(await answer.read())
    assert (answer.status, body["version"]["hash"]) == (200, expected)
    assert version(bridge) == expected
    assert body["policy"]["demo"]["get_order"]["target"] == "local"


async def test_a_rejected_reload_answers_the_running_version_and_why(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge(
        "http://legacy.invalid", LEGACY, admin_token=TOKEN, policy_poll_seconds=3600
    )
    before = version(bridge)
    rewrite(tmp_path / "policy.yaml", {"apps": {"demo": {"target": "mainframe"}}})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with bridge.post("/_bridge/policy/reload", headers=headers) as answer:
        body = orjson.loads(await answer.read())
    assert body["version"]["hash"] == before
    assert "field 'target'" in body["last_rejected_reload"]["reason"]


@pytest.mark.parametrize(("token", "status"), [("guess", 401), (None, 401)])
async def test_reload_needs_the_admin_token(
    routed_bridge: Bridge, token: str | None, status: int
) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, admin_token=TOKEN)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with bridge.post("/_bridge/policy/reload", headers=headers) as answer:
        assert answer.status == status


async def test_reload_is_absent_without_a_token(routed_bridge: Bridge) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY)
    async with bridge.post("/_bridge/policy/reload") as answer:
        assert answer.status == 404
