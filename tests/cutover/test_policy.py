"""The policy file: defaults per app, overrides per operation, errors that name the culprit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from bridge.canonical import Target
from bridge.cutover.policy import Operation, PolicyError, default_policy, parse_policy
from bridge.settings import AppConfig

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_app(**overrides: Any) -> AppConfig:
    values: dict[str, Any] = {
        "name": "acme",
        "api_key": "acme-key",
        "api_secret": SecretStr("s"),
        "legacy_base_url": "http://legacy.example/",
        "incentives": {
            "base_url": "http://incentives.example",
            "connect_key": "k",
            "connect_secret": "s",
            "core_api_key": "k",
            "core_api_secret": "s",
            "retailer_id": "r",
        },
    }
    values.update(overrides)
    return AppConfig(**values)


def parse(document: object, *apps: AppConfig) -> Any:
    raw = yaml.safe_dump(document).encode()
    return parse_policy(raw, apps or (make_app(),), NOW, source="policy.yaml")


def test_app_default_applies_to_every_operation() -> None:
    policy = parse({"apps": {"acme": {"target": "legacy"}}})
    app = make_app()
    assert {policy.for_operation(app, op).target for op in Operation} == {Target.LEGACY}


def test_operation_override_replaces_only_its_fields() -> None:
    policy = parse(
        {
            "apps": {
                "acme": {
                    "target": "legacy",
                    "canary": {"target": "incentives", "percent": 10},
                    "operations": {"list_orders": {"target": "local"}},
                }
            }
        }
    )
    listed = policy.for_operation(make_app(), Operation.LIST_ORDERS)
    assert listed.target is Target.LOCAL
    assert listed.canary is not None
    assert listed.canary.percent == 10


def test_override_with_null_canary_removes_it() -> None:
    policy = parse(
        {
            "apps": {
                "acme": {
                    "target": "legacy",
                    "canary": {"target": "incentives", "percent": 10},
                    "operations": {"create_order": {"canary": None}},
                }
            }
        }
    )
    assert policy.for_operation(make_app(), Operation.CREATE_ORDER).canary is None


def test_app_without_entry_keeps_its_apps_file_target() -> None:
    app = make_app(target="local")
    policy = parse({"apps": {}}, app)
    assert policy.for_operation(app, Operation.GET_ORDER).target is Target.LOCAL


def test_default_policy_uses_the_apps_file_target() -> None:
    app = make_app(target="local")
    assert default_policy(NOW).for_operation(app, Operation.CREATE_ORDER).target is Target.LOCAL


def test_entry_without_target_uses_the_apps_file_target() -> None:
    app = make_app(target="local")
    policy = parse({"apps": {"acme": {"canary": {"target": "legacy", "percent": 5}}}}, app)
    assert policy.for_operation(app, Operation.CREATE_ORDER).target is Target.LOCAL


def test_fallback_local_is_resolved_for_reads() -> None:
    policy = parse(
        {
            "apps": {
                "acme": {
                    "target": "incentives",
                    "operations": {"get_order": {"on_unavailable": {"fallback": "local"}}},
                }
            }
        }
    )
    assert policy.for_operation(make_app(), Operation.GET_ORDER).fallback is Target.LOCAL
    assert policy.for_operation(make_app(), Operation.LIST_ORDERS).fallback is None


def test_version_hash_follows_the_content() -> None:
    first = parse({"apps": {"acme": {"target": "legacy"}}})
    second = parse({"apps": {"acme": {"target": "local"}}})
    assert first.version.hash != second.version.hash
    assert first.version.loaded_at == NOW


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"apps": {"acme": {"operations": {"create_order": {"canary": {"percent": 10}}}}}},
            "app 'acme', operation 'create_order', field 'canary.target'",
        ),
        (
            {"apps": {"acme": {"canary": {"target": "incentives", "percent": 101}}}},
            "app 'acme', all operations, field 'canary.percent'",
        ),
        (
            {"apps": {"acme": {"operations": {"cancel_order": {}}}}},
            "app 'acme', operation 'cancel_order'",
        ),
        ({"apps": {"nobody": {}}}, "app 'nobody': not an app of the apps file"),
        ({"apps": {"acme": {"target": "mainframe"}}}, "field 'target'"),
        ({"apps": {"acme": {"tagret": "local"}}}, "field 'tagret'"),
        ({"routes": {}}, "unknown top-level keys"),
    ],
)
def test_invalid_policy_names_app_operation_and_field(document: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse(document)


def test_legacy_target_needs_a_legacy_base_url() -> None:
    app = make_app(legacy_base_url=None)
    with pytest.raises(PolicyError, match="operation 'create_order', field 'target': legacy"):
        parse({"apps": {"acme": {"target": "legacy"}}}, app)


def test_incentives_target_needs_an_incentives_block() -> None:
    app = make_app(incentives=None)
    document = {"apps": {"acme": {"canary": {"target": "incentives", "percent": 1}}}}
    with pytest.raises(PolicyError, match=r"field 'canary\.target': incentives needs"):
        parse(document, app)


def test_canary_to_the_same_target_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"field 'canary\.target': the same as the target"):
        parse({"apps": {"acme": {"target": "local", "canary": {"target": "local", "percent": 1}}}})


def test_write_may_not_shadow_to_a_target_with_side_effects() -> None:
    document = {"apps": {"acme": {"target": "legacy", "shadow": {"target": "incentives"}}}}
    with pytest.raises(PolicyError, match=r"operation 'create_order', field 'shadow\.target'"):
        parse(document)


def test_write_may_shadow_to_local_or_a_side_effect_free_target() -> None:
    local = parse({"apps": {"acme": {"target": "legacy", "shadow": {"target": "local"}}}})
    free = parse(
        {
            "apps": {
                "acme": {
                    "target": "legacy",
                    "shadow": {"target": "incentives", "side_effect_free": True},
                }
            }
        }
    )
    for policy in (local, free):
        assert policy.for_operation(make_app(), Operation.CREATE_ORDER).shadow is not None


def test_write_fallback_needs_points_living_locally() -> None:
    document: dict[str, Any] = {
        "apps": {"acme": {"target": "incentives", "on_unavailable": {"fallback": "local"}}}
    }
    with pytest.raises(PolicyError, match="operation 'create_order', field 'on_unavailable'"):
        parse(document)
    document["apps"]["acme"]["points_live_locally"] = True
    policy = parse(document)
    assert policy.for_operation(make_app(), Operation.CREATE_ORDER).fallback is Target.LOCAL


def test_invalid_yaml_is_refused() -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy(b"apps: [unclosed", (make_app(),), NOW, source="policy.yaml")


def test_legacy_base_url_must_be_absolute_http() -> None:
    with pytest.raises(ValueError, match="absolute http"):
        make_app(legacy_base_url="legacy.example/api")
