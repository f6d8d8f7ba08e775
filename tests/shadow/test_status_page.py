"""The migration status page in a real headless Chromium: operations table, a mismatch
sample opened side by side, a screenshot under the test's temporary directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX
from tests.shadow.chromium import headless_page
from tests.shadow.conftest import ADMIN_TOKEN, BridgeFactory, render_on_the_shadow_side
from tests.shadow.test_comparison import (
    list_compared,
    points_plus_one,
)

USER = f"{PREFIX}/users/demo-user-1"
ROWS = """JSON.stringify([...document.querySelectorAll('#operations tbody tr')]
  .map(row => [...row.cells].map(cell => cell.innerText.trim())))"""
OPEN_SAMPLE = """(() => {
  const sample = document.querySelector('details.sample');
  sample.querySelector('summary').click();
  const pre = sample.querySelectorAll('pre');
  return {open: sample.open, visible: pre[0].offsetHeight > 0 && pre[1].offsetHeight > 0,
          primary: pre[0].innerText, candidate: pre[1].innerText,
          summary: sample.querySelector('summary').innerText};
})()"""


@pytest.fixture
async def page_bridge(
    shadow_bridge: BridgeFactory,
    legacy_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TestClient[Any, Any]:
    """A bridge whose store holds a list_orders mismatch (seeded mapping change)."""
    render_on_the_shadow_side(monkeypatch, "ok_orders", points_plus_one)
    return await list_compared(shadow_bridge, legacy_server, tmp_path)


async def test_the_status_page_renders_in_headless_chromium(
    page_bridge: TestClient[Any, Any], tmp_path: Path
) -> None:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    async with headless_page(profile) as page:
        await page.call("Network.enable")
        await page.call(
            "Network.setExtraHTTPHeaders", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        await page.open(str(page_bridge.make_url("/_bridge/")))
        title = await page.evaluate("document.title")
        rows = json.loads(await page.evaluate(ROWS))
        sample = await page.evaluate(OPEN_SAMPLE)
        await page.screenshot(tmp_path / "status-page.png")
    assert title == "orders-bridge · migration status"
    by_operation = {row[1]: row for row in rows}
    assert set(by_operation) == {"create_order", "get_order", "list_orders", "update_order_status"}
    assert by_operation["list_orders"][:2] == ["demo", "list_orders"]
    assert by_operation["list_orders"][2:7] == ["legacy", "-", "local at 100%", "1", "0.0%"]
    assert by_operation["list_orders"][7:10] == ["1", "0", "0"]  # mismatch, error, n/c
    assert by_operation["list_orders"][10].startswith("not ready")
    assert by_operation["create_order"][5:10] == ["1", "100.0%", "0", "0", "0"]
    assert by_operation["get_order"][5:7] == ["0", "-"]
    assert sample["open"]
    assert sample["visible"]
    assert sample["summary"].startswith("orders[].points value")
    assert (sample["primary"], sample["candidate"]) == ("200", "201")
    assert (tmp_path / "status-page.png").read_bytes().startswith(b"\x89PNG")
