"""The bench's own arithmetic: ratios judged per repeat, the blocks arms run in, D against D0
side by side, and the steps a profile's samples fall into (bench/report.py, arms.py,
sampling.py). The measurements themselves run only in `make bench`."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    """bench/'s modules, imported as run.py imports them (its directory on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    return {name: importlib.import_module(name) for name in ("arms", "report", "sampling")}


def rows(arm: str, values: list[float], key: str = "rps") -> list[dict[str, Any]]:
    return [{"arm": arm, "repeat": repeat, key: value} for repeat, value in enumerate(values)]


def test_a_ratio_is_the_median_of_the_repeats_ratios_not_a_ratio_of_medians(
    bench: dict[str, ModuleType],
) -> None:
    measured = rows("E-sqlite-create", [100, 300, 200]) + rows("F-sqlite-create", [200, 300, 800])

    # per repeat 0.5, 1.0, 0.25; the medians' ratio would be 200 / 300
    assert bench["report"]._ratio(measured, "rps", "E-sqlite-create", "F-sqlite-create") == 0.5


def test_a_ratio_skips_repeats_missing_either_arm(bench: dict[str, ModuleType]) -> None:
    measured = [*rows("D-get", [100, 100]), {"arm": "C-read", "repeat": 1, "rps": 400.0}]

    assert bench["report"]._ratio(measured, "rps", "D-get", "C-read") == 0.25
    assert bench["report"]._ratio(measured, "rps", "D-get", "C3-create") is None


def test_compared_arms_run_in_one_block_and_the_others_alone(
    bench: dict[str, ModuleType],
) -> None:
    arms = bench["arms"]
    chosen = [
        arms.Arm(name, "x", "op", arms.GET)
        for name in ("A-read", "E-sqlite-create", "F-sqlite-create")
    ]

    blocks = [[arm.name for arm in block] for block in arms.blocks(chosen)]

    assert blocks == [["F-sqlite-create", "E-sqlite-create"], ["A-read"]]


def test_side_by_side_ratios_pair_d_and_d0_of_the_same_repeat(
    bench: dict[str, ModuleType],
) -> None:
    key = "cpu_us_per_request"
    together = rows("D-create", [105, 220, 330], key) + rows("D0-create", [100, 200, 300], key)

    summary = bench["report"]._side_by_side(together)

    assert set(summary) == {"create"}
    assert summary["create"]["median"] == pytest.approx(1.1)
    assert (summary["create"]["min"], summary["create"]["n"]) == (pytest.approx(1.05), 3)
    targets = bench["report"]._observability([], summary)
    assert targets[-1]["target"].endswith("side by side, create")
    assert targets[-1]["met"] is False


def test_a_sample_falls_in_the_step_of_its_frame_nearest_the_leaf(
    bench: dict[str, ModuleType],
) -> None:
    step = bench["sampling"]._step
    handler = "serve (bridge/runtime/serving.py:9)"

    assert step([handler, "get (bridge/store/ledger.py:3)"]) == "store"
    assert step([handler, "get (bridge/store/ledger.py:3)", "_request (aiohttp/client.py:1)"]) == (
        "aiohttp client"
    )
    assert step([handler, "ok (bridge/legacy/responses.py:4)", "dumps (json/__init__.py:2)"]) == (
        "legacy edge (auth, parsing, errors, routing)"
    )
    assert step(["<module> (frozen importlib:1)"]) == bench["sampling"].OTHER


def test_steps_share_the_user_cpu_by_samples(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    raw = tmp_path / "D-get.raw"
    raw.write_text(
        "serve (bridge/runtime/serving.py:9);get (bridge/store/ledger.py:3) 3\n"
        "_run_once (asyncio/base_events.py:1) 1\n",
        encoding="utf-8",
    )

    steps = bench["sampling"].steps(raw, 400.0)

    assert steps == {"store": 300.0, "event loop": 100.0}
    assert "| all (user CPU) | 400.0 |" in bench["sampling"].steps_table({"D-get": steps})
