"""`orders-bridge policy set`: the kill switch edits the file atomically and validly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.canonical import Target
from bridge.cli import main
from bridge.policy import Operation, PolicyError, load_policy
from bridge.policy_edit import edit_policy_file, set_canary, set_target
from tests.cutover.test_policy import NOW, make_app

CANARY = {
    "apps": {
        "acme": {
            "target": "legacy",
            "canary": {"target": "incentives", "percent": 50},
            "operations": {"get_order": {"target": "local", "canary": None}},
        }
    }
}


def test_app_scope_sends_every_operation_to_the_target_and_drops_canaries() -> None:
    edited = set_target(CANARY, "acme", Target.LEGACY)
    assert edited["apps"]["acme"] == {"target": "legacy", "operations": {"get_order": {}}}


def test_operation_scope_sets_target_and_removes_the_canary_there() -> None:
    edited = set_target(CANARY, "acme", Target.LOCAL, Operation.CREATE_ORDER)
    override = edited["apps"]["acme"]["operations"]["create_order"]
    assert override == {"target": "local", "canary": None}


def test_set_target_leaves_the_original_document_alone() -> None:
    set_target(CANARY, "acme", Target.LEGACY)
    assert CANARY["apps"]["acme"]["canary"] == {"target": "incentives", "percent": 50}


def test_edit_writes_a_file_that_loads_to_the_new_target(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(CANARY))
    app = make_app()
    edit_policy_file(path, (app,), NOW, app="acme", target=Target.LEGACY)
    policy = load_policy(path, (app,), NOW)
    assert {policy.for_operation(app, op).target for op in Operation} == {Target.LEGACY}
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]


def test_edit_creates_a_missing_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    edit_policy_file(path, (make_app(),), NOW, app="acme", target=Target.LOCAL)
    assert yaml.safe_load(path.read_text()) == {"apps": {"acme": {"target": "local"}}}


def test_edit_that_would_be_invalid_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(CANARY))
    before = path.read_bytes()
    with pytest.raises(PolicyError, match="legacy needs the app's legacy_base_url"):
        edit_policy_file(
            path, (make_app(legacy_base_url=None),), NOW, app="acme", target=Target.LEGACY
        )
    assert path.read_bytes() == before


def test_cli_policy_set_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apps = tmp_path / "apps.yaml"
    apps.write_text(
        yaml.safe_dump(
            {
                "apps": [
                    {
                        "name": "acme",
                        "api_key": "k",
                        "api_secret": "s",
                        "legacy_base_url": "http://legacy.example",
                    }
                ]
            }
        )
    )
    policy = tmp_path / "policy.yaml"
    monkeypatch.setenv("BRIDGE_CONFIG_FILE", str(apps))
    monkeypatch.setenv("BRIDGE_POLICY_FILE", str(policy))
    assert main(["policy", "set", "--app", "acme", "--target", "legacy"]) == 0
    assert main(["policy", "check"]) == 0
    assert capsys.readouterr().out.count(": valid, version ") == 2


def test_cli_policy_set_refuses_an_unknown_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRIDGE_POLICY_FILE", str(tmp_path / "policy.yaml"))
    assert main(["policy", "set", "--app", "nobody", "--target", "local"]) == 2
    assert "app 'nobody': not an app of the apps file" in capsys.readouterr().err


def test_canary_edit_sets_target_and_percent(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"apps": {"acme": {"target": "legacy"}}}))
    app = make_app()
    edit_policy_file(path, (app,), NOW, app="acme", target=Target.INCENTIVES, canary_percent=10)
    canary = load_policy(path, (app,), NOW).for_operation(app, Operation.LIST_ORDERS).canary
    assert canary is not None
    assert (canary.target, canary.percent) == (Target.INCENTIVES, 10)


def test_canary_edit_to_zero_removes_it() -> None:
    assert set_canary(CANARY, "acme", Target.INCENTIVES, 0)["apps"]["acme"].get("canary") is None
