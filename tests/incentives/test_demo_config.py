"""demo/apps-incentives.yaml is the demo app, moved to the Incentives target of the sandbox."""

from __future__ import annotations

from pathlib import Path

from bridge.canonical import Target
from bridge.sandbox import ids
from bridge.settings import read_apps_file
from tests.conftest import DEMO_APPS, ROOT
from tests.incentives.conftest import demo_id_map

INCENTIVES_APPS = ROOT / "demo" / "apps-incentives.yaml"


def test_it_is_the_demo_app_on_the_incentives_target() -> None:
    (local,) = read_apps_file(DEMO_APPS)
    (moved,) = read_apps_file(Path(INCENTIVES_APPS))
    assert moved.target is Target.INCENTIVES
    assert moved.model_copy(update={"target": Target.LOCAL, "incentives": None}) == local


def test_its_id_map_is_the_sandbox_catalog() -> None:
    (moved,) = read_apps_file(Path(INCENTIVES_APPS))
    assert moved.incentives is not None
    assert (moved.incentives.offers, moved.incentives.retailer_id) == (
        demo_id_map(),
        ids.retailer_id("demo"),
    )
