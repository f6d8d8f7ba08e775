"""The Incentives commands: check-mappings and sync-offers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from aiohttp.test_utils import TestServer

from bridge.cli import main
from bridge.clock import SystemClock
from bridge.incentives.commands import sync_offers
from bridge.incentives.coverage import coverage_report
from bridge.incentives.offer_sync import match_offers
from bridge.settings import Settings
from mappings.incentives.errors import BY_CODE
from tests.conftest import ROOT
from tests.incentives.conftest import base_url, demo_id_map, incentives_app


def test_check_mappings_passes_and_prints_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-mappings"]) == 0
    out = capsys.readouterr().out
    assert "| insufficient_points | offer_not_available | 200 |" in out
    assert "| user.available_points | all_balances: available_points |" in out


def test_an_unmapped_sandbox_error_code_is_a_problem() -> None:
    table = {code: row for code, row in BY_CODE.items() if code != "offer_out_of_stock"}
    _report, problems = coverage_report(table)
    assert problems == ["Incentives error code offer_out_of_stock: no legacy code"]


async def test_sync_offers_matches_the_catalog_by_internal_name(sandbox: TestServer) -> None:
    app = incentives_app(base_url(sandbox))
    offers, unmatched = await match_offers(app, SystemClock())
    expected = {
        number: link.model_dump()
        for number, link in demo_id_map().items()
        if number in {1, 2, 3}  # offer 4 is retired: not in the catalog
    }
    assert (offers, unmatched) == (expected, [])


def test_docs_carry_the_current_coverage_matrix() -> None:
    report, _problems = coverage_report()
    assert report in (ROOT / "docs" / "mappings.md").read_text(encoding="utf-8")


async def test_sync_offers_prints_the_id_map_as_yaml(
    sandbox: TestServer,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(apps=(incentives_app(base_url(sandbox)),))

    assert await sync_offers("demo", [], settings) == 0

    printed = yaml.safe_load(capsys.readouterr().out)
    assert set(printed["offers"]) == {1, 2, 3}


async def test_sync_offers_refuses_an_app_without_incentives(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await sync_offers("demo", [], make_settings()) == 2
    assert "has no incentives block" in capsys.readouterr().err
