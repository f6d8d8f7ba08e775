"""promtool on the live /metrics of a real bridge, on the rules, their unit tests and the
scrape configurations (issue 7, "Checked by the real tools")."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import PREFIX, ROOT, basic_auth
from tests.prometheus_tools import PrometheusTools

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"


def promtool(tools: PrometheusTools, *args: str, stdin: bytes = b"") -> str:
    result = subprocess.run(  # noqa: S603 - the promtool binary, fixed arguments
        [str(tools.promtool), *args],
        input=stdin,
        capture_output=True,
        cwd=PROMETHEUS_DIR,
        timeout=120,
        check=False,
    )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, output
    return output


async def test_live_metrics_pass_promtool_check_metrics(
    prometheus_tools: PrometheusTools, client: TestClient[Any, Any]
) -> None:
    await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders",
        json={"order": {"quantity": 1}},
        headers=basic_auth(),
    )
    await client.get(f"{PREFIX}/users/nobody/orders", headers=basic_auth())
    await client.get("/readyz")
    exposition = await (await client.get("/metrics")).read()
    assert b"bridge_requests_total" in exposition
    promtool(prometheus_tools, "check", "metrics", stdin=exposition)


def test_rules_pass_promtool_check_rules(prometheus_tools: PrometheusTools) -> None:
    output = promtool(prometheus_tools, "check", "rules", "rules/bridge.rules.yml")
    assert "SUCCESS" in output


def test_rule_unit_tests_pass(prometheus_tools: PrometheusTools) -> None:
    assert "SUCCESS" in promtool(prometheus_tools, "test", "rules", "tests/bridge.rules.test.yml")


@pytest.mark.parametrize("config", ["prometheus.yml", "kubernetes-scrape.yml"])
def test_scrape_configs_pass_promtool_check_config(
    prometheus_tools: PrometheusTools, config: str
) -> None:
    assert Path(PROMETHEUS_DIR / config).is_file()
    assert "SUCCESS" in promtool(prometheus_tools, "check", "config", config)
