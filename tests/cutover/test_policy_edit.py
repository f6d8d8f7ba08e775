"""`orders-bridge policy set`: the kill switch edits the file atomically and validly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.canonical import Target
from bridge.cli import main
from bridge.cutover.edit import (
    Edit,
    canary_edit,
    edit_policy_file,
    set_canary,
    set_target,
    shadow_edit,
    target_edit,
)
from bridge.cutover.policy import Operation, PolicyError, load_policy
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
    assert edited["apps"]["acme"] == {"target": "legacy"}


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
    edit_policy_file(path, (app,), NOW, target_edit("acme", Target.LEGACY))
    policy = load_policy(path, (app,), NOW)
    assert {policy.for_operation(app, op).target for op in Operation} == {Target.LEGACY}
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]


def test_edit_creates_a_missing_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    edit_policy_file(path, (make_app(),), NOW, target_edit("acme", Target.LOCAL))
    assert yaml.safe_load(path.read_text()) == {"apps": {"acme": {"target": "local"}}}


def test_edit_that_would_be_invalid_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(CANARY))
    before = path.read_bytes()
    with pytest.raises(PolicyError, match="legacy needs the app's legacy_base_url"):
        edit_policy_file(
            path, (make_app(legacy_base_url=None),), NOW, target_edit("acme", Target.LEGACY)
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
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(f"{policy}: acme -> legacy, version {out[1].rsplit()[-1]}")
    assert out[1].startswith(f"{policy}: valid, version ")


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
    edit_policy_file(path, (app,), NOW, canary_edit("acme", Target.INCENTIVES, 10))
    canary = load_policy(path, (app,), NOW).for_operation(app, Operation.LIST_ORDERS).canary
    assert canary is not None
    assert (canary.target, canary.percent) == (Target.INCENTIVES, 10)


def test_canary_edit_to_zero_removes_it() -> None:
    assert set_canary(CANARY, "acme", Target.INCENTIVES, 0)["apps"]["acme"].get("canary") is None


COMMENTED = """\
# The cutover policy (docs/runbook.md). Owner: the payments team.
apps:
  acme:
    target: legacy  # until the canary starts
    operations:
      # reads may shadow to the candidate
      list_orders: {shadow: {target: incentives, sample_rate: 0.2}}
"""


@pytest.mark.parametrize(
    "edit",
    [
        target_edit("acme", Target.LEGACY, Operation.CREATE_ORDER),
        canary_edit("acme", Target.INCENTIVES, 10),
        shadow_edit("acme", Target.LOCAL, 0.5),
        shadow_edit("acme", None, operation=Operation.GET_ORDER),
    ],
    ids=["set", "canary", "shadow", "clear"],
)
def test_every_edit_keeps_the_files_comments(tmp_path: Path, edit: Edit) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(COMMENTED)
    edit_policy_file(path, (make_app(),), NOW, edit)
    text = path.read_text()
    for line in COMMENTED.splitlines():
        if "#" in line:
            assert line.strip() in text


def test_shadow_set_then_clear_at_app_scope_removes_every_shadow(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(COMMENTED)
    app = make_app()
    edit_policy_file(path, (app,), NOW, shadow_edit("acme", Target.LOCAL, 0.1))
    policy = load_policy(path, (app,), NOW)
    shadow = policy.for_operation(app, Operation.CREATE_ORDER).shadow
    assert shadow is not None
    assert (shadow.target, shadow.sample_rate) == (Target.LOCAL, 0.1)
    edit_policy_file(path, (app,), NOW, shadow_edit("acme", None))
    policy = load_policy(path, (app,), NOW)
    assert {policy.for_operation(app, op).shadow for op in Operation} == {None}
    assert "shadow:" not in path.read_text()


def test_the_kill_switch_is_refused_while_a_shadow_points_at_its_target(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(COMMENTED)
    with pytest.raises(PolicyError, match="the same as the target"):
        edit_policy_file(path, (make_app(),), NOW, target_edit("acme", Target.INCENTIVES))
    edit_policy_file(path, (make_app(),), NOW, shadow_edit("acme", None))
    edit_policy_file(path, (make_app(),), NOW, target_edit("acme", Target.INCENTIVES))


def test_policy_check_warns_of_shadows_to_local_without_a_shadow_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apps = tmp_path / "apps.yaml"
    acme = {
        "name": "acme",
        "api_key": "k",
        "api_secret": "s",
        "legacy_base_url": "http://l.example",
    }
    apps.write_text(yaml.safe_dump({"apps": [acme]}))
    policy = tmp_path / "policy.yaml"
    policy.write_text("apps:\n  acme:\n    target: legacy\n")
    monkeypatch.setenv("BRIDGE_CONFIG_FILE", str(apps))
    monkeypatch.setenv("BRIDGE_POLICY_FILE", str(policy))
    assert main(["policy", "check"]) == 0
    operation = ["--operation", "create_order"]
    assert main(["policy", "shadow", "--app", "acme", *operation, "--target", "local"]) == 0
    assert "acme create_order shadow to local" in capsys.readouterr().err
    assert main(["policy", "check"]) == 1
    assert "BRIDGE_SHADOW__DATABASE_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("BRIDGE_SHADOW__DATABASE_URL", f"sqlite:///{tmp_path}/shadow.db")
    assert main(["policy", "check"]) == 0
    assert "warning" not in capsys.readouterr().err
