"""The bench: every arm side by side in one run, interleaved and repeated (docs/performance.md).

Run: .venv/bin/python bench/run.py [--smoke]   (`make bench`, `make bench-smoke`)
     .venv/bin/python bench/run.py --open-loop-only --repeats 3   (the shadow's cost: Dsh/D p99)
Writes bench/results/<stamp>.json and .md, and copies them to latest.json / latest.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sqlite3
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import arms as a
import report
import sampling as profiler
from measure import Load, closed_loop, open_loop, side_by_side
from postgres import PostgresDatabase
from stack import (
    AUTH,
    BIN,
    ROOT,
    Process,
    Tools,
    bridge_env,
    free_port,
    prepare_database,
    ready,
    start,
    start_bare_proxy,
    start_bridge,
    start_floor,
    start_nginx,
    stop_all,
)
from stub import proxy_conf, read_exchanges, stub_conf

SUT_CPUS = "0"
LOAD_CPUS = "1"
RESULTS = ROOT / "bench" / "results"
SHED_CPU_SHARE = os.environ.get("BENCH_SHED_CPU_SHARE", "0.6")
"""Dsh sheds its shadows above this CPU share (docs/shadowing.md, "Yielding to the primary")."""


@dataclass(frozen=True)
class Plan:
    seconds: float
    warmup: float
    repeats: int
    connections: int
    open_seconds: float
    shares: tuple[float, ...]
    workers: bool


FULL = Plan(
    seconds=8,
    warmup=2,
    repeats=3,
    connections=64,
    open_seconds=8,
    shares=(0.25, 0.5, 0.75),
    workers=True,
)
SMOKE = Plan(
    seconds=2, warmup=0, repeats=1, connections=32, open_seconds=1.5, shares=(0.5,), workers=True
)


def call(port: int, load: Load, path: str) -> bytes:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=load.body.encode() or None,
        method=load.method,
        headers=dict(header.split(": ", 1) for header in (AUTH, "Content-Type: application/json")),
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        body: bytes = answer.read()
        return body


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (MB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def seed_orders(process: Process) -> None:
    """A full page of orders per bench customer, one round at a time: the first round gets
    ids 1..16, the ids the get arm reads. The list arm's page is then full from the start, in
    D and D0 alike, whatever D-create adds later in the run."""
    for _ in range(a.PAGE):
        for path in a.CREATE.paths:
            call(process.port, a.CREATE, path)


Recorded = tuple[dict[str, str], dict[str, str], dict[str, str], list[list[str]]]


def record(work: Path, stack: ExitStack) -> Recorded:
    """Incentives answers (via the sandbox), the bridge's own get/list answers, and the
    upstream calls of one create (of a customer already seen: what C3 repeats)."""
    sandbox_port, recorder_port = free_port(), free_port()
    out = work / "exchanges.jsonl"
    (work / "none.yaml").write_text("apps: []\n")
    sandbox = start(
        "sandbox",
        [
            str(BIN / "orders-bridge"),
            "sandbox",
            "--port",
            str(sandbox_port),
            "--data",
            str(ROOT / "bench" / "data.yaml"),
            "--database-url",
            f"sqlite:///{work}/sandbox.db",
        ],
        sandbox_port,
        LOAD_CPUS,
        bridge_env(work, work / "none.yaml", "sqlite://", sandbox_port),
        work / "sandbox.log",
    )
    stack.callback(sandbox.stop)
    recorder = start(
        "recorder",
        [
            str(BIN / "python"),
            str(ROOT / "bench" / "stub.py"),
            "--port",
            str(recorder_port),
            "--upstream",
            f"http://127.0.0.1:{sandbox_port}",
            "--out",
            str(out),
        ],
        recorder_port,
        LOAD_CPUS,
        bridge_env(work, work / "none.yaml", "sqlite://", recorder_port),
        work / "recorder.log",
    )
    stack.callback(recorder.stop)
    apps = a.incentives_apps(work / "record-apps.yaml", f"http://127.0.0.1:{recorder_port}", None)
    env = bridge_env(work, apps, f"sqlite:///{work}/record.db", free_port())
    prepare_database(env, work / "record.log")
    bridge = ready(start_bridge("record-bridge", work, env, SUT_CPUS))
    legacy = {}
    try:
        seed_orders(bridge)
        for load in (a.GET, a.LIST):
            for path in load.paths:
                legacy[path.split("?")[0]] = call(bridge.port, load, path).decode()
        before = len(out.read_text().splitlines())
        call(bridge.port, a.CREATE, a.CREATE.paths[0])
        made = [json.loads(line) for line in out.read_text().splitlines()[before:]]
        create_calls = [[e["method"], e["path"], e["request"]] for e in made]
    finally:
        bridge.stop()
    with sqlite3.connect(work / "record.db") as db:  # the template of the incentives bridges
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    requests = {}
    for line in out.read_text().splitlines():
        exchange = json.loads(line)
        requests[exchange["path"]] = exchange["request"]
    return read_exchanges(out), legacy, requests, create_calls


def start_fixed(work: Path, tools: Tools, stack: ExitStack) -> tuple[dict[str, Process], dict]:
    """The stub (incentives + legacy shadow), B and C; the recorded loads for A-C."""
    answers, legacy, requests, create_calls = record(work, stack)
    stub_port, shadow_port, b_port = free_port(), free_port(), free_port()
    stub_file = work / "stub.conf"
    stub_file.write_text(stub_conf(work, {stub_port: answers, shadow_port: legacy}))
    processes = {"A": start_nginx("stub", tools, stub_file, stub_port, LOAD_CPUS, work)}
    stack.callback(processes["A"].stop)
    b_file = work / "B.conf"
    b_file.write_text(proxy_conf(work, b_port, stub_port))
    processes["B"] = start_nginx("B", tools, b_file, b_port, SUT_CPUS, work)
    stack.callback(processes["B"].stop)
    processes["C"] = start_bare_proxy(work, f"http://127.0.0.1:{stub_port}", SUT_CPUS)
    stack.callback(processes["C"].stop)
    calls = work / "create-calls.json"
    calls.write_text(json.dumps(create_calls))
    processes["C3"] = start_bare_proxy(work, f"http://127.0.0.1:{stub_port}", SUT_CPUS, calls, "C3")
    stack.callback(processes["C3"].stop)
    context = {
        "stub": stub_port,
        "shadow": shadow_port,
        "loads": a.upstream_loads(answers, requests),
    }
    return processes, context


def start_bridges(work: Path, context: dict, plan: Plan, stack: ExitStack) -> dict[str, Process]:
    stub = f"http://127.0.0.1:{context['stub']}"
    shadow = f"http://127.0.0.1:{context['shadow']}"
    incentives = a.incentives_apps(work / "apps-incentives.yaml", stub, shadow)
    local = a.local_apps(work / "apps-local.yaml")
    postgres = stack.enter_context(PostgresDatabase())
    floor_postgres = stack.enter_context(PostgresDatabase("floor"))
    specs: dict[str, tuple[Path, str, dict[str, str], list[str], str]] = {
        "D": (incentives, f"sqlite:///{work}/D.db", {}, [], SUT_CPUS),
        "D0": (incentives, f"sqlite:///{work}/D0.db", report.OBSERVABILITY_OFF, [], SUT_CPUS),
        "Dsh": (
            incentives,
            f"sqlite:///{work}/Dsh.db",
            {
                "BRIDGE_POLICY_FILE": str(a.shadow_policy(work / "policy.json")),
                "BRIDGE_SHADOW__SHED_CPU_SHARE": SHED_CPU_SHARE,
            },
            [],
            SUT_CPUS,
        ),
        "E-sqlite": (local, f"sqlite:///{work}/E.db", {}, [], SUT_CPUS),
        "E-pg": (local, postgres.url, {}, [], SUT_CPUS),
    }
    if plan.workers:
        specs["W2"] = (incentives, f"sqlite:///{work}/W2.db", {}, ["--workers", "2"], "0,1")
    local_template = work / "local-template.db"
    prepare_database(bridge_env(work, local, f"sqlite:///{local_template}", 0), work / "E.log")
    prepare_database(bridge_env(work, local, postgres.url, 0), work / "E-pg.log")
    prepare_database(bridge_env(work, local, floor_postgres.url, 0), work / "F-pg.log")
    processes: dict[str, Process] = {}
    stack.callback(stop_all, processes.values())  # the bridges stop side by side
    shutil.copyfile(local_template, work / "F.db")
    processes["F-sqlite"] = start_floor("F-sqlite", work, "sqlite", str(work / "F.db"), SUT_CPUS)
    processes["F-pg"] = start_floor("F-pg", work, "pg", floor_postgres.url, SUT_CPUS)
    for name, (apps, url, extra, argv, cpus) in specs.items():
        if url.startswith("sqlite:///"):
            template = local_template if apps == local else work / "record.db"
            shutil.copyfile(template, url.removeprefix("sqlite:///"))
        env = {**bridge_env(work, apps, url, free_port()), **extra}
        processes[name] = start_bridge(name, work, env, cpus, argv)
    for process in processes.values():
        ready(process)
    return processes


def measure_all(
    tools: Tools,
    processes: dict[str, Process],
    arms: list[a.Arm],
    plan: Plan,
    work: Path,
    profile: tuple[str, ...] = (),
) -> list[dict[str, object]]:
    """Every arm once per repeat, in blocks of the arms a ratio compares (`arms.blocks`): the
    blocks' order rotates each repeat and each block runs backwards every other repeat (no
    arm always goes first).

    An arm named in `profile` runs once more in the first repeat, under py-spy; its row of
    that repeat carries the profile's steps (`sampling.steps`).
    """
    rows: list[dict[str, object]] = []
    blocks = a.blocks(arms)
    for repeat in range(plan.repeats):
        shift = repeat * max(1, len(blocks) // plan.repeats)
        order = blocks[shift:] + blocks[:shift]
        for arm in (arm for block in order for arm in block[:: 1 if repeat % 2 == 0 else -1]):
            sut = processes[arm.sut]
            run = functools.partial(
                closed_loop,
                tools,
                sut,
                arm.load,
                connections=plan.connections,
                cpus=LOAD_CPUS,
                work=work,
            )
            if plan.warmup:
                run(seconds=plan.warmup)
            steps = None
            if arm.name in profile and repeat == 0:  # an extra run: py-spy slows what it samples
                raw = work / f"{arm.name}.raw"
                sampler = profiler.record(sut.popen.pid, plan.seconds, raw)
                sampled = run(seconds=plan.seconds)
                sampler.wait()
                text = profiler.summary(raw)
                (work / f"{arm.name}-profile.txt").write_text(text)
                print(text, flush=True)
                user = sampled["cpu_us_per_request"] - sampled["cpu_system_us_per_request"]
                steps = {"profile_steps": profiler.steps(raw, user)}
            result = run(seconds=plan.seconds)
            rows.append({"arm": arm.name, "repeat": repeat, **result, **(steps or {})})
            print(
                f"  {arm.name:18} rep {repeat}: {result['rps']:8.0f} req/s  "
                f"{result['cpu_us_per_request']:6.0f} us CPU/req "
                f"({result['cpu_system_us_per_request']:4.0f} system)  non2xx {result['non_2xx']}",
                flush=True,
            )
    return rows


def measure_open(
    processes: dict[str, Process],
    context: dict,
    maxima: dict[str, float],
    plan: Plan,
    shadow_only: bool = False,
) -> list[dict[str, object]]:
    """Open-loop latency of B, C, D and Dsh (reads) at 25/50/75 % of C's throughput, and of
    B, D and Dsh at 50 % of D's own (the rates D can serve: where latency means something).
    `shadow_only`: B, D and Dsh at 50 % of D's own only (the shadow's cost, side by side)."""
    series = [
        ("B-read", "B", context["loads"]["read"]),
        ("C-read", "C", context["loads"]["read"]),
        ("D-get", "D", a.GET),
        ("Dsh-get", "Dsh", a.GET),
    ]
    plans = [] if shadow_only else [("C-read", share, series) for share in plan.shares]
    plans.append(("D-get", 0.5, [entry for entry in series if entry[0] != "C-read"]))
    rows: list[dict[str, object]] = []
    for repeat in range(plan.repeats):
        for basis, share, entries in plans:
            rate = round(maxima[basis] * share)
            for name, sut, load in entries:
                result = open_loop(
                    processes[sut], load, rate=rate, seconds=plan.open_seconds, cpus=LOAD_CPUS
                )
                row = {"arm": name, "load": share, "basis": basis, "repeat": repeat, **result}
                rows.append(row)
                print(
                    f"  open {name:8} {int(share * 100)}% of {basis} ({rate}/s) rep {repeat}: "
                    f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms",
                    flush=True,
                )
    return rows


def measure_side_by_side(
    tools: Tools, processes: dict[str, Process], arms: list[a.Arm], plan: Plan, work: Path
) -> list[dict[str, object]]:
    """D and D0 loaded at the same time (`side_by_side`), each operation once per repeat.

    The observability ratio, D/D0 CPU per request, is a few per cent; measured one arm after
    the other it also holds whatever the shared machine did in between (arms of one run
    differ by 10 % and more here). Side by side, both share cpu 0 and that drift cancels.
    Which of the two is started first alternates between repeats.
    """
    names = {arm.name: arm for arm in arms}
    pairs = [
        (names[f"D-{op}"], names[f"D0-{op}"])
        for op in a.OPERATIONS
        if f"D-{op}" in names and f"D0-{op}" in names
    ]
    rows: list[dict[str, object]] = []
    for repeat in range(plan.repeats):
        for pair in pairs:
            ordered = pair if repeat % 2 == 0 else pair[::-1]
            run = functools.partial(
                side_by_side,
                tools,
                [(processes[arm.sut], arm.load) for arm in ordered],
                connections=plan.connections,
                cpus=LOAD_CPUS,
                work=work,
            )
            if plan.warmup:
                run(seconds=plan.warmup)
            for arm, result in zip(ordered, run(seconds=plan.seconds), strict=True):
                rows.append({"arm": arm.name, "repeat": repeat, **result})
                print(
                    f"  {arm.name:18} rep {repeat} side by side: "
                    f"{result['cpu_us_per_request']:6.0f} us CPU/req",
                    flush=True,
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="short run (about a minute)")
    parser.add_argument(
        "--profile", metavar="ARM,ARM", default="", help="py-spy the SUT during these arms"
    )
    parser.add_argument(
        "--arms", metavar="A,B", help="measure only these closed-loop arms (no open loop)"
    )
    parser.add_argument("--repeats", type=int, help="repeats of every arm (default: the plan's)")
    parser.add_argument(
        "--open-loop-only",
        action="store_true",
        help="D-get closed loop (D's maximum), then B, D and Dsh open loop at 50 %% of it",
    )
    args = parser.parse_args()
    plan = SMOKE if args.smoke else FULL
    if args.repeats:
        plan = replace(plan, repeats=args.repeats)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    work = RESULTS / "tmp" / stamp
    work.mkdir(parents=True)
    tools = Tools.ensure()
    machine = report.machine(tools)
    with ExitStack() as stack:
        processes, context = start_fixed(work, tools, stack)
        processes.update(start_bridges(work, context, plan, stack))
        arms = a.proxy_arms(context["loads"]) + a.floor_arms() + a.bridge_arms(plan.workers)
        if args.arms or args.open_loop_only:
            chosen = "D-get" if args.open_loop_only else args.arms
            arms = [arm for arm in arms if arm.name in chosen.split(",")]
        profile = tuple(filter(None, args.profile.split(",")))
        throughput = measure_all(tools, processes, arms, plan, work, profile)
        together = measure_side_by_side(tools, processes, arms, plan, work)
        latency: list[dict[str, object]] = []
        if not args.arms:
            maxima = {
                arm: report.median([r["rps"] for r in throughput if r["arm"] == arm])
                for arm in ("C-read", "D-get")
            }
            latency = measure_open(processes, context, maxima, plan, args.open_loop_only)
        rss = {name: rss_mb(p.popen.pid) for name, p in processes.items() if name[0] in "DEFW"}
    results = report.build(machine, asdict(plan), args.smoke, throughput, latency, rss, together)
    name = "smoke" if args.smoke else ("arms" if args.arms else "full")
    name = "open" if args.open_loop_only else name
    for target in (RESULTS / f"{stamp}-{name}", RESULTS / f"latest-{name}"):
        target.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
        target.with_suffix(".md").write_text(report.markdown(results))
    print(report.markdown(results))


if __name__ == "__main__":
    main()
