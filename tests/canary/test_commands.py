"""`orders-bridge canary ...` as an operator runs it, on a real database.

The commands run in this process (`bridge.canary.commands.run` on parsed arguments and
`Settings`, as the CLI dispatches them): a cold `orders-bridge` process costs one to ten
seconds of imports on a busy machine, and this file used to start eight. One real process
remains, the history table read through the installed CLI and its environment, so the
command's wiring is still proven end to end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bridge.canary import commands as canary_commands
from bridge.cli import _parser
from bridge.settings import Settings
from tests.conftest import DEMO_APPS
from tests.factories import demo_app
from tests.test_cli import run_cli

LEGACY = "http://legacy.invalid/"
ONE = ("--app", "demo", "--operation", "create_order")

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    canary = {"target": "legacy", "analysis": {"steps": [5, 50, 100]}}
    policy = {"apps": {"demo": {"operations": {"create_order": {"canary": canary}}}}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@pytest.fixture
def settings(make_settings: Callable[..., Settings], policy_file: Path) -> Settings:
    return make_settings(apps=(demo_app(legacy_base_url=LEGACY),), policy_file=policy_file)


@pytest.fixture
def command(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `orders-bridge canary ARGS` in this process: (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        status = canary_commands.run(_parser().parse_args(["canary", *args]), settings)
        printed = capsys.readouterr()
        return status, printed.out, printed.err

    return run


def rows(command: Run, *args: str) -> list[dict[str, object]]:
    status, out, err = command(*args, "--json")
    assert status == 0, err
    found: list[dict[str, object]] = json.loads(out)
    return found


def test_status_pause_resume_promote_and_history(command: Run) -> None:
    [status] = rows(command, "status")
    assert (status["operation"], status["status"], status["steps"]) == (
        "create_order",
        "not_started",
        "5/50/100",
    )
    [paused] = rows(command, "pause", *ONE)
    assert (paused["outcome"], paused["reason"], paused["to_percent"]) == ("pause", "operator", 5)
    assert str(paused["actor"]).startswith("operator:")
    refused, _, err = command("pause", *ONE)
    assert refused == 2
    assert err.strip() == "orders-bridge canary pause: the canary is paused, not running"
    rows(command, "resume", *ONE)
    [promoted] = rows(command, "promote", *ONE, "--full")
    assert promoted["to_percent"] == 100
    history = rows(command, "history", "--app", "demo")
    assert [row["outcome"] for row in history] == ["promote", "resume", "pause", "start"]


def test_history_is_a_table_from_the_installed_command(
    command: Run, settings: Settings, policy_file: Path, tmp_path: Path
) -> None:
    rows(command, "pause", *ONE)
    apps = yaml.safe_load(DEMO_APPS.read_text())
    apps["apps"][0]["legacy_base_url"] = LEGACY
    (tmp_path / "apps.yaml").write_text(yaml.safe_dump(apps))

    result = run_cli(
        "canary",
        "history",
        BRIDGE_CONFIG_FILE=str(tmp_path / "apps.yaml"),
        BRIDGE_POLICY_FILE=str(policy_file),
        BRIDGE_DATABASE_URL=settings.database_url,
    )

    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    assert table[0].split()[:4] == ["app", "operation", "at", "outcome"]
    assert [line.split()[3] for line in table[1:]] == ["pause", "start"]


def test_an_operation_without_an_analysed_canary_is_one_clear_line(command: Run) -> None:
    status, out, err = command("pause", "--app", "demo", "--operation", "list_orders")
    assert (status, out) == (2, "")
    assert "Traceback" not in err
    assert "no canary with analysis" in err
    assert len(err.strip().splitlines()) == 1
