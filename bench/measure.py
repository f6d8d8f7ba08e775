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


def _wrk(
    tools: Tools, sut: Process, load: Load, seconds: float, connections: int, cpus: str, work: Path
) -> list[str]:
    argv = ["taskset", "-c", cpus, *tools.wrk, "-t1", f"-c{connections}"]
    argv.append(f"-d{max(1, round(seconds))}s")
    for header in load.all_headers():
        argv += ["-H", header]
    return [*argv, "-s", str(_lua(load, work)), f"http://127.0.0.1:{sut.port}"]


def _result(out: str, cpu: tuple[int, int]) -> dict[str, float]:
    """wrk's output and the SUT's (user, system) ticks over it -> one row."""
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
        "cpu_us_per_request": sum(cpu) / TICK * 1e6 / max(requests, 1),
        "cpu_system_us_per_request": cpu[1] / TICK * 1e6 / max(requests, 1),
    }


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
    """wrk for `seconds`: requests/s, non-2xx count, SUT CPU microseconds per request (and its
    system part)."""
    return side_by_side(
        tools, [(sut, load)], seconds=seconds, connections=connections, cpus=cpus, work=work
    )[0]


def side_by_side(
    tools: Tools,
    arms: list[tuple[Process, Load]],
    *,
    seconds: float,
    connections: int,
    cpus: str,
    work: Path,
) -> list[dict[str, float]]:
    """Several SUTs loaded at the same time, each by its own wrk (`closed_loop`'s row for each).

    Their CPU per request is measured over the same seconds on the same cores, so whatever
    slows a shared machine down meanwhile weighs on each alike.
    """
    started = []
    for sut, load in arms:
        argv = _wrk(tools, sut, load, seconds, connections, cpus, work)
        before = cpu_ticks(sut.pids())
        wrk = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=tools.env)
        started.append((sut, before, wrk))
    rows = []
    for sut, before, wrk in started:
        out, _ = wrk.communicate()
        if wrk.returncode:
            raise RuntimeError(f"wrk failed ({wrk.returncode}): {out}")
        after = cpu_ticks(sut.pids())
        rows.append(_result(out, (after[0] - before[0], after[1] - before[1])))
    return rows


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
