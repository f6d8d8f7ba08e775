"""Schemathesis against the bridge's own /openapi.json: no 5xx, no answer off the document.

A real `python -m bridge serve` (demo apps and data, fresh store) is fuzzed by the
schemathesis CLI in a subprocess with every check (tests/reliability/schemathesis.toml and
schemathesis_hooks.py), every phase, a fixed seed and a fixed number of cases per operation;
the JSON report is then read: every operation tested, at least MIN_CASES cases, no failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY, API_SECRET, DEMO_APPS, ROOT
from tests.cutover.conftest import fresh_store
from tests.server_process import ServerProcess

HERE = Path(__file__).resolve().parent
MIN_CASES = 1000
EXAMPLES_PER_OPERATION = 40
SEED = 9


@pytest.fixture
async def server(tmp_path: Path, email_key: str) -> AsyncIterator[ServerProcess]:
    env = {
        "BRIDGE_DATABASE_URL": await fresh_store(tmp_path / "bridge.db", email_key),
        "BRIDGE_CONFIG_FILE": str(DEMO_APPS),
        "BRIDGE_EMAIL_KEYS": email_key,
        "BRIDGE_SQLITE_SYNCHRONOUS": "NORMAL",
        "BRIDGE_LOG_LEVEL": "warning",
    }
    process = ServerProcess(env, tmp_path / "server.log")
    await process.start()
    yield process
    await process.stop()


async def fuzz(base: str, reports: Path) -> tuple[dict[str, Any], str]:
    """Run schemathesis; its JSON report and its console output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--auth",
        f"{API_KEY}:{API_SECRET}",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-shrink",
        "--report",
        "json",
        "--report-dir",
        str(reports),
        env=os.environ
        | {"SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks", "PYTHONPATH": str(ROOT)},
        cwd=reports.parent,  # schemathesis keeps a cache in its working directory
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return read_report(reports), output.decode()


def read_report(reports: Path) -> dict[str, Any]:
    (report,) = reports.glob("*.json")
    found: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return found


@pytest.mark.slow
async def test_fuzzing_every_route_finds_no_5xx_and_no_answer_off_the_document(
    server: ServerProcess, tmp_path: Path
) -> None:
    report, output = await fuzz(server.base, tmp_path / "reports")

    print(json.dumps({"test_cases": report["test_cases"], "seconds": report["running_time"]}))
    assert report["operations"]["tested"] == report["operations"]["total"] == 10, output
    assert report["test_cases"]["generated"] >= MIN_CASES, output
    assert (report["failures"], report["errors"]) == ([], []), output
