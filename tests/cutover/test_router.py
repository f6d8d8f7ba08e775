"""The router: policy, sticky canary, locator and fallback decisions, plus the canary proofs."""

from __future__ import annotations

from typing import Any

import yaml

from bridge.canonical import Target
from bridge.cutover.policy import Operation, parse_policy
from bridge.cutover.router import Located, Reason, Route, Router, bucket, customer_key
from tests.cutover.test_policy import NOW, make_app

CUSTOMERS = [f"u:customer-{n}" for n in range(10_000)]


def router_for(document: dict[str, Any], **app: Any) -> tuple[Router, Any]:
    config = make_app(**app)
    policy = parse_policy(yaml.safe_dump(document).encode(), (config,), NOW, source="p.yaml")
    return Router(lambda: policy), config


def canary_policy(percent: float) -> dict[str, Any]:
    return {
        "apps": {"acme": {"target": "legacy", "canary": {"target": "local", "percent": percent}}}
    }


def sides(router: Router, app: Any, operation: Operation) -> dict[str, Target]:
    return {c: router.decide(app, operation, c).target for c in CUSTOMERS}


def test_bucket_is_stable_and_in_range() -> None:
    assert bucket("acme", "u:1") == bucket("acme", "u:1")
    assert all(0 <= bucket("acme", c) < 10_000 for c in CUSTOMERS[:500])


def test_bucket_depends_on_the_app() -> None:
    differing = sum(bucket("acme", c) != bucket("other", c) for c in CUSTOMERS[:100])
    assert differing > 90


def test_customer_key_names_the_kind_of_id() -> None:
    assert customer_key("1", None) == "u:1"
    assert customer_key(None, "1") == "x:1"
    assert customer_key(None, None) is None


def test_policy_target_without_canary() -> None:
    router, app = router_for({"apps": {"acme": {"target": "legacy"}}})
    assert router.decide(app, Operation.CREATE_ORDER, "u:1") == Route(Target.LEGACY, Reason.POLICY)


def test_canary_share_at_ten_percent_is_within_one_point() -> None:
    router, app = router_for(canary_policy(10))
    chosen = sides(router, app, Operation.CREATE_ORDER)
    share = sum(target is Target.LOCAL for target in chosen.values()) / len(CUSTOMERS)
    assert 0.09 <= share <= 0.11, share


def test_canary_customer_stays_on_one_side_across_all_four_operations() -> None:
    router, app = router_for(canary_policy(10))
    created = sides(router, app, Operation.CREATE_ORDER)
    for operation in (Operation.LIST_ORDERS, Operation.GET_ORDER):
        assert sides(router, app, operation) == created
    located = {Target.LOCAL: Located.LOCAL, Target.LEGACY: Located.UNKNOWN}
    for customer, side in created.items():
        for operation in (Operation.GET_ORDER, Operation.UPDATE_ORDER_STATUS):
            route = router.decide(app, operation, customer, located[side])
            assert route.target is side, (customer, operation)


def test_raising_the_canary_moves_customers_only_toward_it() -> None:
    router_10, app = router_for(canary_policy(10))
    router_20, _ = router_for(canary_policy(20))
    before = sides(router_10, app, Operation.CREATE_ORDER)
    after = sides(router_20, app, Operation.CREATE_ORDER)
    moved = {c for c in CUSTOMERS if before[c] is not after[c]}
    assert all(before[c] is Target.LEGACY and after[c] is Target.LOCAL for c in moved)
    assert 0.09 <= len(moved) / len(CUSTOMERS) <= 0.11


def test_canary_decision_carries_the_canary_reason() -> None:
    router, app = router_for(canary_policy(100))
    route = router.decide(app, Operation.LIST_ORDERS, "u:1")
    assert (route.target, route.reason, route.canary) == (Target.LOCAL, Reason.CANARY, True)


def test_call_without_customer_is_never_in_the_canary() -> None:
    router, app = router_for(canary_policy(100))
    route = router.decide(app, Operation.UPDATE_ORDER_STATUS, None, Located.UNKNOWN)
    assert route == Route(Target.LEGACY, Reason.POLICY)


def test_locator_sends_a_bridge_order_where_it_lives() -> None:
    router, app = router_for({"apps": {"acme": {"target": "legacy"}}})
    route = router.decide(app, Operation.UPDATE_ORDER_STATUS, None, Located.LOCAL)
    assert route == Route(Target.LOCAL, Reason.LOCATOR)


def test_locator_sends_an_unknown_order_to_legacy() -> None:
    router, app = router_for({"apps": {"acme": {"target": "local"}}})
    route = router.decide(app, Operation.GET_ORDER, "u:1", Located.UNKNOWN)
    assert route == Route(Target.LEGACY, Reason.LOCATOR)


def test_unknown_order_stays_on_target_without_a_legacy_base_url() -> None:
    router, app = router_for({"apps": {"acme": {"target": "local"}}}, legacy_base_url=None)
    route = router.decide(app, Operation.GET_ORDER, "u:1", Located.UNKNOWN)
    assert route == Route(Target.LOCAL, Reason.POLICY)


def test_history_order_is_read_from_the_ledger_on_a_migrated_app() -> None:
    router, app = router_for({"apps": {"acme": {"target": "incentives"}}})
    route = router.decide(app, Operation.GET_ORDER, "u:1", Located.HISTORY)
    assert route == Route(Target.INCENTIVES, Reason.POLICY)


def test_history_order_is_updated_on_legacy() -> None:
    router, app = router_for({"apps": {"acme": {"target": "incentives"}}})
    route = router.decide(app, Operation.UPDATE_ORDER_STATUS, None, Located.HISTORY)
    assert route == Route(Target.LEGACY, Reason.LOCATOR)


def test_route_carries_the_fallback_of_the_policy() -> None:
    reads = {"on_unavailable": {"fallback": "local"}}
    document = {"apps": {"acme": {"target": "incentives", "operations": {"list_orders": reads}}}}
    router, app = router_for(document)
    assert router.decide(app, Operation.LIST_ORDERS, "u:1").fallback is Target.LOCAL


def test_write_routed_by_the_locator_has_no_fallback() -> None:
    document: dict[str, Any] = {
        "apps": {
            "acme": {
                "target": "legacy",
                "points_live_locally": True,
                "on_unavailable": {"fallback": "local"},
            }
        }
    }
    router, app = router_for(document)
    route = router.decide(app, Operation.UPDATE_ORDER_STATUS, None, Located.INCENTIVES)
    assert route == Route(Target.INCENTIVES, Reason.LOCATOR, fallback=None)
