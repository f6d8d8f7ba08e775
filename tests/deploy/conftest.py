"""Fixtures for the checks that run the real Prometheus tools against deploy/."""

from __future__ import annotations

import pytest

from tests.prometheus_tools import PrometheusTools, locate_tools


@pytest.fixture(scope="session")
def prometheus_tools() -> PrometheusTools:
    return locate_tools()
