"""`orders-bridge canary ...` as an operator runs it: a real process on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_APPS
from tests.test_cli import assert_one_clear_line, run_cli


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    apps = yaml.safe_load(DEMO_APPS.read_text())
    apps["apps"][0]["legacy_base_url"] = "http://legacy.invalid/"
    (tmp_path / "apps.yaml").write_text(yaml.safe_dump(apps))
    canary = {"target": "legacy", "analysis": {"steps": [5, 50, 100]}}
    policy = {"apps": {"demo": {"operations": {"create_order": {"canary": canary}}}}}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    return {
        "BRIDGE_CONFIG_FILE": str(tmp_path / "apps.yaml"),
        "BRIDGE_POLICY_FILE": str(tmp_path / "policy.yaml"),
        "BRIDGE_DATABASE_URL": database_url,
    }


def canary(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    result = run_cli("canary", *args, "--json", **env)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_status_pause_resume_promote_and_history(env: dict[str, str]) -> None:
    [status] = canary(env, "status")
    assert (status["operation"], status["status"], status["steps"]) == (
        "create_order",
        "not_started",
        "5/50/100",
    )
    one = ("--app", "demo", "--operation", "create_order")
    [paused] = canary(env, "pause", *one)
    assert (paused["outcome"], paused["reason"], paused["to_percent"]) == ("pause", "operator", 5)
    assert str(paused["actor"]).startswith("operator:")
    assert_one_clear_line(run_cli("canary", "pause", *one, **env), "paused, not running")
    canary(env, "resume", *one)
    [promoted] = canary(env, "promote", *one, "--full")
    assert promoted["to_percent"] == 100
    history = canary(env, "history", "--app", "demo")
    assert [row["outcome"] for row in history] == ["promote", "resume", "pause", "start"]
    table = run_cli("canary", "history", **env).stdout.splitlines()
    assert table[0].split()[:3] == ["app", "operation", "at"]
    assert len(table) == 5


def test_an_operation_without_an_analysed_canary_is_one_clear_line(env: dict[str, str]) -> None:
    result = run_cli("canary", "pause", "--app", "demo", "--operation", "list_orders", **env)
    assert_one_clear_line(result, "no canary with analysis")
