"""Profile the system under test with py-spy while an arm runs (`run.py --profile ARM`).

py-spy (the optional extra `bench`) samples the process's GIL-holding thread; the summary keeps
the samples inside aiohttp's request handling and reports, for the bridge's own frames and a
few library frames, the share of request time spent under each (inclusive), best first.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from stack import BIN

WATCH = (
    "bridge/",
    "mappings/",
    "aiosqlite/",
    "sqlalchemy/",
    "aiohttp/client.py",
    "structlog/",
    "prometheus_client/",
    "pydantic/",
)


def record(pid: int, seconds: float, raw: Path) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds` (250 Hz, GIL holder only, collapsed stacks)."""
    argv = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--gil", "-r", "250"]
    argv += ["-d", str(max(1, int(seconds))), "-f", "raw", "-o", str(raw)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame(frame: str) -> str:
    """`function (path/file.py:line)` -> `function (path/file.py)`."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0]})" if where else name


def summary(raw: Path, top: int = 40) -> str:
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not any("_handle_request" in frame for frame in frames):
            continue
        total += int(count)
        for frame in {_frame(frame) for frame in frames}:
            inclusive[frame] += int(count)
    lines = [f"{total} samples inside request handling; inclusive share of them:"]
    for frame, count in inclusive.most_common():
        if any(part in frame for part in WATCH) and len(lines) <= top:
            lines.append(f"{100 * count / max(total, 1):5.1f}%  {frame}")
    return "\n".join(lines) + "\n"
