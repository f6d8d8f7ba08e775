"""Every PromQL expression the deploy files hold: dashboard panels, recording and alert rules.

The live Prometheus test evaluates each through the query API. Grafana's variables are given
the values an operator sees by default (all apps, all operations, a 1 minute rate window).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "orders-bridge-cutover.json"
RULES = DEPLOY / "prometheus" / "rules" / "bridge.rules.yml"

GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__range": "5m",
    "$app": ".*",
    "$operation": ".*",
}
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<metric>.+),\s*)?(?P<label>\w+)\)$")
THRESHOLD = re.compile(r"^(?P<signal>.+?)\s*(?:>|<|>=|<=|==|!=)\s*[-+0-9.e]+$", re.DOTALL)
NAME = re.compile(r"(?<![\w:\"$])([a-z_][a-z0-9_]*(?::[a-z0-9_]+)+|bridge_[a-z0-9_]+|up)\b")


@dataclass(frozen=True)
class Expression:
    source: str
    """Where the expression lives, for failure messages (`dashboard: Fallbacks A`)."""
    promql: str


def dashboard_expressions() -> list[Expression]:
    """Panel queries and variable queries (label_values turned into PromQL)."""
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = [
        Expression(f"dashboard: {panel['title']} {target['refId']}", grafana(target["expr"]))
        for panel in document["panels"]
        for target in panel.get("targets", [])
    ]
    for variable in document["templating"]["list"]:
        match = LABEL_VALUES.match(variable["query"]["query"])
        assert match, variable["query"]
        metric = grafana(match["metric"] or "{__name__=~'.+'}")
        promql = f"group by ({match['label']}) ({metric})"
        found.append(Expression(f"dashboard variable: {variable['name']}", promql))
    return found


def rule_expressions() -> list[Expression]:
    """Recording rules; alerts both whole and as their signal (the part before the threshold)."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    found = []
    for group in document["groups"]:
        for rule in group["rules"]:
            name = rule.get("record") or rule["alert"]
            found.append(Expression(f"rule: {name}", rule["expr"]))
            signal = THRESHOLD.match(rule["expr"].strip())
            if "alert" in rule and signal:
                found.append(Expression(f"alert signal: {name}", signal["signal"]))
    return found


def recorded_sources() -> dict[str, str]:
    """Recording rule name -> its expression."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {
        rule["record"]: rule["expr"]
        for group in document["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def raw_metric_names(promql: str, recorded: dict[str, str]) -> set[str]:
    """Scraped metric names an expression reads, through recording rules."""
    names: set[str] = set()
    for name in NAME.findall(promql):
        if name in recorded:
            names |= raw_metric_names(recorded[name], recorded)
        elif ":" not in name:
            names.add(name)
    return names


def grafana(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr
