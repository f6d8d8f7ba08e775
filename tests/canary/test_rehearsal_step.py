"""Issue 20's "done when", walked: docs/rehearsal.md's automated canary step on `make rehearse`.

A fresh rehearsal (bridge/rehearse.py: legacy stand-in, sandbox, fault proxy and bridge, real
processes on free ports) runs the shell blocks of the section "Automated canary: a fault on
the Incentives side rolls it back" and nothing else: the plan written to the policy file, the
healthy rounds that advance it, the fault turned on at the proxy, the rollback the bridge
takes by itself, and the history and the status page saying when and why. What each block
prints is compared with the text block the page shows after it (tests/docs/walk.py). The
page's waits poll once a second, shorter than the plan's interval (checked below).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.docs.walk import Step, mismatch, run, steps
from tests.test_rehearsal import WALK, rehearsal

SECTION = "## Automated canary: a fault on the Incentives side rolls it back"


def section_steps() -> list[Step]:
    """The page's steps from the section's heading to the next one."""
    lines = WALK.read_text(encoding="utf-8").splitlines()
    start = lines.index(SECTION) + 1
    end = next((n for n in range(start, len(lines)) if lines[n].startswith("## ")), len(lines))
    return [step for step in steps(WALK) if start < step.line <= end]


def test_the_section_turns_a_fault_on_and_reads_the_rollback() -> None:
    walked = section_steps()
    commands = "\n".join(step.commands for step in walked)
    for needed in ("analysis:", "/_faults", "orders-bridge canary history", "/_bridge/canary"):
        assert needed in commands
    assert all(step.expected is not None for step in walked)
    assert "rollback" in walked[-2].expected  # type: ignore[operator]


def test_the_section_sleeps_less_than_its_interval() -> None:
    commands = "\n".join(step.commands for step in section_steps())
    plan = yaml.safe_load(commands.split("<<'EOF'\n")[1].split("\nEOF")[0])
    analysis = plan["apps"]["demo"]["operations"]["list_orders"]["canary"]["analysis"]
    sleeps = [float(seconds) for seconds in re.findall(r"\bsleep ([\d.]+)", commands)]
    assert sleeps
    assert max(sleeps) < analysis["interval_seconds"]


@pytest.mark.slow
def test_a_fault_on_the_incentives_side_rolls_the_automated_canary_back(
    rehearsal: tuple[Path, str],
) -> None:
    folder, _started = rehearsal
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment['PATH']}"
    for step in section_steps():
        printed = run(step, environment, {".data/rehearsal": str(folder)})
        assert step.expected is not None
        difference = mismatch(step.expected, printed)
        assert difference is None, f"docs/rehearsal.md line {step.line}: {difference}"


__all__ = ["rehearsal"]
