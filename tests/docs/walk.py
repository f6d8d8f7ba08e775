"""Walk a document's shell blocks and compare what each prints with the block that follows it.

A ```sh block followed (blank lines aside) by a ```text block is a step: the commands run in
bash (`set -euo pipefail`) from the repository root, and what they print, stdout and stderr
together, must match the text block line by line, where `...` stands for any run of
characters within a line (ids, times, hashes, ports). A ```sh block without a ```text block
after it runs too, and must only succeed.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.docs.markdown import ROOT

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Step:
    commands: str
    expected: str | None
    line: int


def steps(path: Path) -> list[Step]:
    """The document's ```sh blocks, each with the ```text block right after it, if any."""
    text = path.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    found = []
    for index, (language, body, start, end) in enumerate(blocks):
        if language != "sh":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = None
        if following and following[0] == "text" and not text[end : following[2]].strip():
            expected = following[1]
        found.append(Step(body, expected, text.count("\n", 0, start) + 1))
    return found


def pattern(expected_line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected_line.split("...")))


def mismatch(expected: str, printed: str) -> str | None:
    """None when `printed` matches `expected` line by line; else the first difference."""
    wanted = expected.rstrip("\n").splitlines()
    got = printed.rstrip("\n").splitlines()
    for number, (want, have) in enumerate(zip(wanted, got, strict=False), start=1):
        if not pattern(want.rstrip()).fullmatch(have.rstrip()):
            return f"line {number}: expected {want!r}, printed {have!r}"
    if len(wanted) != len(got):
        return f"expected {len(wanted)} lines, printed {len(got)}:\n{printed}"
    return None


def run(step: Step, environment: dict[str, str], replace: dict[str, str]) -> str:
    """Run a step's commands in bash; what they printed (stdout and stderr)."""
    commands = step.commands
    for old, new in replace.items():
        commands = commands.replace(old, new)
    done = subprocess.run(  # noqa: S603 - the document's own commands
        ["bash", "-euo", "pipefail", "-c", commands],  # noqa: S607
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 0, f"step at line {step.line} failed:\n{commands}\n{printed}"
    return printed
