"""One measurement: wrk (closed loop) or the open-loop generator, with the SUT's CPU time."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack import BIN, ROOT, Process, Tools, cpu_ticks

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """What an arm sends: a method, paths taken round robin, a body, headers."""

    method: str
    paths: tuple[str, ...]
    body: str = ""
    headers: tuple[str, ...] = ()

    def all_headers(self) -> list[str]:
        extra = ["Content-Type: application/json"] if self.body else []
        return [*self.headers, *extra]


def _lua(load: Load, work: Path) -> Path:
    paths = ", ".join(json.dumps(path) for path in load.paths)
    body = json.dumps(load.body) if load.body else "nil"
    script = work / f"wrk-{abs(hash(load))}.lua"
    script.write_text(
        f"""local paths = {{{paths}}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format({json.dumps(load.method)}, paths[i], nil, {body})
end
"""
    )
    return script


def closed_loop(
    tools: Tools,
    sut: Process,
    load: Load,
    *,
    seconds: float,
    connections: int,
    cpus: str,
    work: Path,
) -> dict[str, float]:
    """wrk for `seconds`: requests/s, non-2xx count, SUT CPU microseconds per request."""
    argv = [
        "taskset",
        "-c",
        cpus,
        *tools.wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
    ]
    for header in load.all_headers():
        argv += ["-H", header]
    argv += ["-s", str(_lua(load, work)), f"http://127.0.0.1:{sut.port}"]
    before = cpu_ticks(sut.pids())
    out = subprocess.run(argv, capture_output=True, text=True, env=tools.env, check=True).stdout
    after = cpu_ticks(sut.pids())
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if done is None:
        raise RuntimeError(f"unexpected wrk output: {out}")
    requests = int(done.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {
        "rps": rps,
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "cpu_us_per_request": (after - before) / TICK * 1e6 / max(requests, 1),
    }


def open_loop(
    sut: Process, load: Load, *, rate: float, seconds: float, cpus: str
) -> dict[str, object]:
    argv = ["taskset", "-c", cpus, str(BIN / "python"), str(ROOT / "bench" / "openloop.py")]
    argv += ["--url", f"http://127.0.0.1:{sut.port}", "--rate", str(rate)]
    argv += ["--duration", str(seconds), "--method", load.method]
    for path in load.paths:
        argv += ["--path", path]
    for header in load.headers:
        argv += ["--header", header]
    if load.body:
        argv += ["--body", load.body]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    result: dict[str, object] = json.loads(out)
    return result
