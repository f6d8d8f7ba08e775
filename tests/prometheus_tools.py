"""Find (or fetch) Debian's prometheus and promtool for the tests that use the real tools.

deploy/tools/ensure-prometheus unpacks the `prometheus` package into a cache directory; this
module runs it once per session. Without the binaries a test skips with the reason, except
under CI (`CI=true`), where it fails: CI must prove the rules and dashboard with the real tools.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENSURE_SCRIPT = ROOT / "deploy" / "tools" / "ensure-prometheus"


@dataclass(frozen=True)
class PrometheusTools:
    prometheus: Path
    promtool: Path


def locate_tools() -> PrometheusTools:
    """The binaries in $PROMETHEUS_BIN_DIR, else those ensure-prometheus provides."""
    explicit = os.environ.get("PROMETHEUS_BIN_DIR")
    if explicit:
        return _tools_in(Path(explicit))
    try:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(ENSURE_SCRIPT)], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"{ENSURE_SCRIPT.name} could not run: {exc}")
    if result.returncode != 0:
        _unavailable(f"{ENSURE_SCRIPT.name} failed: {result.stderr.strip()}")
    return _tools_in(Path(result.stdout.strip().splitlines()[-1]))


def _tools_in(directory: Path) -> PrometheusTools:
    tools = PrometheusTools(directory / "prometheus", directory / "promtool")
    if not (tools.prometheus.is_file() and tools.promtool.is_file()):
        _unavailable(f"no prometheus and promtool in {directory}")
    return tools


def _unavailable(reason: str) -> None:
    message = f"Prometheus tools unavailable ({reason}); run deploy/tools/ensure-prometheus"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
