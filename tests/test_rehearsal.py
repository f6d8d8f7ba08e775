"""`make rehearse` and docs/rehearsal.md: the runbook walked literally, on one machine.

The rehearsal (bridge/rehearse.py: a legacy stand-in, the Incentives sandbox and the bridge,
each a real process on a free port) is started in a temporary folder; then every shell block
of docs/rehearsal.md runs in order, from shadow store set-up and backfill through shadows, the
canary at 10, 50 and 100% and the rollback to reconcile, and what each prints is compared with
the text block the document shows after it (tests/docs/walk.py).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.markdown import DOCS, ROOT
from tests.docs.walk import mismatch, run, steps

WALK = DOCS / "rehearsal.md"


@pytest.fixture
def rehearsal(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The running rehearsal's folder, and what it printed up to `ready`."""
    folder = tmp_path / "rehearsal"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "REH"))}
    log = tmp_path / "rehearse.out"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "bridge.rehearse", "--dir", str(folder)],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 600  # four cold interpreters on a busy machine
        while "ready:" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield folder, log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0, log.read_text()


def test_the_walk_has_every_runbook_step() -> None:
    commands = "\n".join(step.commands for step in steps(WALK))
    for needed in (
        "orders-bridge db upgrade",
        "orders-bridge backfill",
        "orders-bridge policy shadow --app demo --target local",
        "--percent 10",
        "--percent 50",
        "orders-bridge policy set --app demo --target incentives",
        "orders-bridge policy set --app demo --target legacy",
        "/_bridge/policy/reload",
        "orders-bridge reconcile",
    ):
        assert needed in commands


@pytest.mark.slow
def test_docs_rehearsal_runs_literally_and_prints_what_it_shows(
    rehearsal: tuple[Path, str],
) -> None:
    folder, started = rehearsal
    ports = re.findall(r"http://127\.0\.0\.1:(\d+)", started)
    assert len(set(ports)) == 4  # bridge, stand-in, sandbox, fault proxy
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment['PATH']}"
    walked = steps(WALK)
    assert len(walked) >= 10
    for step in walked:
        printed = run(step, environment, {".data/rehearsal": str(folder)})
        if step.expected is not None:
            difference = mismatch(step.expected, printed)
            assert difference is None, f"docs/rehearsal.md line {step.line}: {difference}"
