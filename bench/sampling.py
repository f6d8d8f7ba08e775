"""Profile the system under test with py-spy while an arm runs (`run.py --profile ARM,...`).

py-spy (the optional extra `bench`) samples the process's GIL-holding thread. Two views:
`summary` keeps the samples inside aiohttp's request handling and reports, for the bridge's
own frames and a few library frames, the share of request time spent under each (inclusive),
best first; `steps` puts every sample, inside request handling or not (the event loop, the
sockets' callbacks), in exactly one step, by the frame nearest the leaf that names one, and
turns the shares into microseconds of the arm's user CPU per request, so a bridge arm and its
floor can be compared step by step.
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


STEPS = (
    (
        "observability (log line, metrics, request id)",
        ("bridge/observability/", "structlog/", "prometheus_client/"),
    ),
    ("aiohttp client", ("aiohttp/client", "aiohttp/connector", "aiohttp/tcp_helpers")),
    ("aiohttp server", ("aiohttp/web", "aiohttp/http_", "aiohttp/base_protocol")),
    ("aiohttp, other modules (helpers, streams, payloads)", ("aiohttp/",)),
    ("URLs and headers (yarl, multidict)", ("yarl/", "multidict/")),
    (
        "mappings (compiled translations and renders)",
        ("<mapping ", "bridge/mapping.py", "mappings/"),
    ),
    ("store", ("bridge/store/", "sqlite3/")),
    ("Incentives client and backend", ("bridge/incentives/",)),
    ("legacy edge (auth, parsing, errors, routing)", ("bridge/legacy/", "bridge/errors.py")),
    ("orders, cutover, shadow", ("bridge/",)),
    ("event loop", ("asyncio/", "uvloop/")),
    ("the floor's own code", ("bench/", "proxy.py", "floor.py")),
)
"""(step, path fragments), matched in this order against each frame from the leaf up."""
OTHER = "other (interpreter, start-up frames)"
"""The step of a sample none of whose frames names one."""


def _step(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, fragments in STEPS:
            if any(fragment in frame for fragment in fragments):
                return name
    return OTHER


def steps(raw: Path, user_us_per_request: float) -> dict[str, float]:
    """Microseconds of user CPU per request in each step (the samples' shares of that CPU)."""
    counts: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        counts[_step(stack.split(";"))] += int(count)
    total = sum(counts.values()) or 1
    return {name: user_us_per_request * n / total for name, n in counts.most_common()}


def steps_table(profiles: dict[str, dict[str, float]]) -> str:
    """Arms side by side: one row per step, microseconds per request."""
    arms = list(profiles)
    names = [name for name, _ in STEPS] + [OTHER]
    lines = ["| Step | " + " | ".join(arms) + " |", "|---|" + "---:|" * len(arms)]
    for name in names:
        if any(name in profile for profile in profiles.values()):
            cells = " | ".join(f"{profiles[arm].get(name, 0.0):.1f}" for arm in arms)
            lines.append(f"| {name} | {cells} |")
    totals = " | ".join(f"{sum(profiles[arm].values()):.1f}" for arm in arms)
    return "\n".join([*lines, f"| all (user CPU) | {totals} |"]) + "\n"
