"""A policy file must name what it means: empty or cut-off files are refused (issue 16, item 8).

The running bridge keeps its policy when such a file lands, and `policy check` says what is
wrong. A file cut mid-token fails YAML or validation; these are the cuts that parse.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.runtime.admin import POLICY_SOURCE
from tests.conftest import DEMO_APPS
from tests.cutover.test_reload import LEGACY, Bridge, rewrite, version
from tests.test_cli import run_cli

CUT_OFF = {
    "empty": "",
    "blank": " \n\n",
    "comments only": "# the cutover policy\n",
    "null document": "~\n",
    "apps and nothing": "apps:\n",
    "app and nothing": "apps:\n  demo:\n",
    "a list": "- demo\n",
    "no apps key": "demo: {target: local}\n",
}


UNPARSEABLE = {
    "nested too deeply": "apps: " + "[" * 5000 + "]" * 5000 + "\n",
    "cut-off flow mapping": "apps:\n  demo:\n    create_order: {target: legacy\n",
}
REFUSED = {**CUT_OFF, **UNPARSEABLE}


@pytest.mark.parametrize("text", REFUSED.values(), ids=list(REFUSED))
async def test_a_cut_off_policy_is_refused_and_the_running_one_stays(
    routed_bridge: Bridge, tmp_path: Path, text: str
) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, policy_poll_seconds=3600)
    source = bridge.server.app[POLICY_SOURCE]
    before = version(bridge)
    rewrite(tmp_path / "policy.yaml", text)
    with capture_logs() as logs:
        assert not source.reload()
    assert version(bridge) == before
    (demo,) = source.apps
    assert source.current().for_operation(demo, Operation.CREATE_ORDER).target is Target.LEGACY
    assert [e["event"] for e in logs] == ["policy_reload_failed"]
    assert "\n" not in logs[0]["reason"]  # one line, never the file's text
    assert "target: legacy" not in logs[0]["reason"]


async def test_an_explicit_empty_apps_mapping_is_a_policy(
    routed_bridge: Bridge, tmp_path: Path
) -> None:
    bridge = await routed_bridge("http://legacy.invalid", LEGACY, policy_poll_seconds=3600)
    rewrite(tmp_path / "policy.yaml", "apps: {}\n")
    assert bridge.server.app[POLICY_SOURCE].reload()


def test_policy_check_refuses_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("")
    result = run_cli("policy", "check", "--file", str(path), BRIDGE_CONFIG_FILE=str(DEMO_APPS))
    assert result.returncode == 2
    assert "the policy file is empty" in result.stderr
    assert "valid" not in result.stdout


def test_policy_check_refuses_a_file_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(UNPARSEABLE["nested too deeply"])
    result = run_cli("policy", "check", "--file", str(path), BRIDGE_CONFIG_FILE=str(DEMO_APPS))
    assert result.returncode == 2
    assert "nested too deeply" in result.stderr
    assert "Traceback" not in result.stderr
