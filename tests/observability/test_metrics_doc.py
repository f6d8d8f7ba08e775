"""docs/metrics.md names every metric the bridge exports and every alert it ships."""

from __future__ import annotations

import yaml
from prometheus_client import CollectorRegistry

from bridge.observability.metrics import Metrics
from tests.conftest import ROOT
from tests.deploy.promql import RULES

DOC = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


def test_every_metric_is_documented() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    names = {
        f"{metric.name}_total" if metric.type == "counter" else metric.name
        for metric in registry.collect()
    }
    assert {name for name in names if f"`{name}`" not in DOC} == set()


def test_every_alert_and_recording_rule_is_documented() -> None:
    rules = [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]
    names = {rule.get("alert") or rule["record"] for rule in rules}
    missing = {name for name in names if name not in DOC and name.split(":")[0] + ":" not in DOC}
    assert missing == set()
