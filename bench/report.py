"""Medians, spreads, ratios against the targets, and the Markdown table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib import metadata
from typing import Any

from sampling import steps_table
from stack import Tools

OBSERVABILITY_OFF = {"BRIDGE_LOG_LEVEL": "error", "BRIDGE_METRICS_ENABLED": "false"}
"""Arm D0: no info log lines (the canonical line included) and no metrics recorded."""


def median(values: list[Any]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def machine(tools: Tools) -> dict[str, object]:
    cpu = "unknown"
    for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115 - read once
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "bridge", "mappings"],
        capture_output=True,
        text=True,
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "loadavg_at_start": open("/proc/loadavg", encoding="utf-8").read().split()[:3],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
        "uncommitted_in_bridge": changed.stdout.split("\n")[:-1],
        "versions": {
            **tools.versions(),
            **{
                name: metadata.version(name)
                for name in ("aiohttp", "orjson", "sqlalchemy", "structlog", "pydantic")
            },
        },
        "pinning": {"sut": "cpu 0", "load_and_stub": "cpu 1", "W2": "cpus 0-1"},
    }


def _summary(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[float]] = {}
    for row in rows:
        grouped.setdefault(row["arm"], []).append(float(row[key]))
    return {
        arm: {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}
        for arm, values in grouped.items()
    }


def _open_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        of_d = " of D" if row.get("basis") == "D-get" else ""
        grouped.setdefault(f"{row['arm']}@{int(row['load'] * 100)}%{of_d}", []).append(row)
    return {
        key: {
            "rate": values[0]["rate"],
            "achieved": median([v["achieved"] for v in values]),
            "p50_ms": median([v["p50_ms"] for v in values]),
            "p99_ms": median([v["p99_ms"] for v in values]),
            "p99_ms_min": min(v["p99_ms"] for v in values),
            "p99_ms_max": max(v["p99_ms"] for v in values),
            "errors": sum(v["errors"] for v in values),
        }
        for key, values in grouped.items()
    }


FLOOR_RATIOS = (
    ("D-get", "C-read", 0.85),
    ("D-list", "C-read", 0.80),
    ("D-create", "C3-create", 0.75),
    ("E-sqlite-create", "F-sqlite-create", 0.40),
    ("E-pg-create", "F-pg-create", 0.70),
)
"""Issue 15's targets: each arm against its floor, in one run."""
RSS_GOAL_MB = 150


def _ratio(rows: list[dict[str, Any]], key: str, top: str, bottom: str) -> float | None:
    """The median over the repeats of `top`'s `key` over `bottom`'s in the same repeat (the
    two run back to back: bench/arms.py, BLOCKS)."""
    value = {(row["arm"], row["repeat"]): float(row[key]) for row in rows}
    ratios = [
        value[(arm, repeat)] / value[(bottom, repeat)]
        for arm, repeat in value
        if arm == top and value.get((bottom, repeat))
    ]
    return round(median(ratios), 3) if ratios else None


def _observability(rows: list[dict[str, Any]], together: dict) -> list[dict[str, object]]:
    """D against D0: throughput and CPU one arm after the other, and CPU side by side."""
    out: list[dict[str, object]] = []
    for key, top, bottom, goal in (
        ("D0/D throughput", "D0", "D", "<= 1.05"),
        ("D/D0 CPU per request, one arm after the other", "D", "D0", "<= 1.05"),
    ):
        for op in ("get", "list", "create"):
            measure = "rps" if "throughput" in key else "cpu_us_per_request"
            value = _ratio(rows, measure, f"{top}-{op}", f"{bottom}-{op}")
            met = None if value is None else value <= 1.05
            out.append({"target": f"{key}, {op}", "value": value, "goal": goal, "met": met})
    for op, pair in together.items():
        value = round(pair["median"], 3)
        name = f"D/D0 CPU per request, side by side, {op}"
        goal = "<= 1.05 (the machine's drift cancelled)"
        out.append({"target": name, "value": value, "goal": goal, "met": value <= 1.05})
    return out


def _targets(
    rows: list[dict[str, Any]], cpu: dict, lat: dict, together: dict
) -> list[dict[str, object]]:
    def row(name: str, value: float | None, goal: str, ok: bool | None) -> dict[str, object]:
        return {"target": name, "value": value, "goal": goal, "met": ok}

    def at_least(value: float | None, goal: float) -> bool | None:
        return None if value is None else value >= goal

    def at_most(value: float | None, goal: float) -> bool | None:
        return None if value is None else value <= goal

    out = []
    for top, bottom, goal in FLOOR_RATIOS:
        value = _ratio(rows, "rps", top, bottom)
        out.append(row(f"{top} / {bottom} throughput", value, f">= {goal}", at_least(value, goal)))
    both = "D-get" in cpu and "C-read" in cpu
    extra = round(cpu["D-get"]["median"] - cpu["C-read"]["median"], 1) if both else None
    out.append(row("CPU/request D-get minus C", extra, "<= 40 us", at_most(extra, 40)))
    out += _observability(rows, together)
    for op in ("get", "list"):
        value = _ratio(rows, "rps", f"Dsh-{op}", f"D-{op}")
        out.append(row(f"Dsh/D throughput, {op}", value, ">= 0.9", at_least(value, 0.9)))
    if "Dsh-get@50%" in lat and "D-get@50%" in lat:
        value = round(lat["Dsh-get@50%"]["p99_ms"] / lat["D-get@50%"]["p99_ms"], 3)
        out.append(row("Dsh/D p99 at 50% load, get", value, "<= 1.05", at_most(value, 1.05)))
    if "D-get@50%" in lat and "B-read@50%" in lat:
        d, b = lat["D-get@50%"], lat["B-read@50%"]
        p50 = round(d["p50_ms"] - b["p50_ms"], 3)
        p99 = round(d["p99_ms"] - b["p99_ms"], 3)
        out.append(row("open loop 50%: D p50 - B p50 (ms)", p50, "<= 0.5", at_most(p50, 0.5)))
        out.append(row("open loop 50%: D p99 - B p99 (ms)", p99, "<= 2", at_most(p99, 2)))
    return out + _latency_at_d_rates(lat) + _engine_targets(rows)


def _latency_at_d_rates(lat: dict) -> list[dict[str, object]]:
    """The latency targets again at 50 % of D's own maximum (C's is beyond what D serves)."""
    out: list[dict[str, object]] = []
    d, b, sh = (lat.get(f"{arm}@50% of D") for arm in ("D-get", "B-read", "Dsh-get"))
    if d is None or b is None:
        return out
    for stat, goal in (("p50", 0.5), ("p99", 2.0)):
        value = round(d[f"{stat}_ms"] - b[f"{stat}_ms"], 3)
        name = f"open loop 50% of D's max: D {stat} - B {stat} (ms)"
        out.append({"target": name, "value": value, "goal": f"<= {goal}", "met": value <= goal})
    if sh is not None:
        value = round(sh["p99_ms"] / d["p99_ms"], 3)
        name = "Dsh/D p99 at 50% of D's max, get"
        out.append({"target": name, "value": value, "goal": "<= 1.10", "met": value <= 1.10})
    return out


def _engine_targets(rows: list[dict[str, Any]]) -> list[dict[str, object]]:
    rps = _summary(rows, "rps")
    out = []
    for arm, goal in (("E-sqlite-create", 3000), ("E-pg-create", 3500)):
        value = rps.get(arm, {}).get("median")
        met = None if value is None else value >= goal
        out.append({"target": f"{arm} orders/s", "value": value, "goal": f">= {goal}", "met": met})
    for op in ("get", "create"):
        value = _ratio(rows, "rps", f"W2-{op}", f"D-{op}")
        met = None if value is None else value >= 1.8
        out.append(
            {"target": f"W2/W1 throughput, {op}", "value": value, "goal": ">= 1.8", "met": met}
        )
    return out


def _memory(rss_mb: dict[str, float]) -> list[dict[str, object]]:
    value = rss_mb.get("D")
    met = None if value is None else value <= RSS_GOAL_MB
    goal = f"<= {RSS_GOAL_MB}"
    return [
        {"target": "RSS of bridge D after the run (MB)", "value": value, "goal": goal, "met": met}
    ]


def _side_by_side(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """D/D0 CPU per request of each repeat run side by side -> median, min, max by operation."""
    cpu = {(row["arm"], row["repeat"]): float(row["cpu_us_per_request"]) for row in rows}
    out = {}
    for op in ("get", "list", "create"):
        repeats = sorted(r for arm, r in cpu if arm == f"D-{op}" and (f"D0-{op}", r) in cpu)
        ratios = [cpu[(f"D-{op}", r)] / cpu[(f"D0-{op}", r)] for r in repeats]
        if ratios:
            d = median([cpu[(f"D-{op}", r)] for r in repeats])
            d0 = median([cpu[(f"D0-{op}", r)] for r in repeats])
            spread = {"min": min(ratios), "max": max(ratios), "n": len(ratios)}
            out[op] = {"median": median(ratios), **spread, "D": d, "D0": d0}
    return out


def build(
    machine_info: dict[str, object],
    plan: dict[str, object],
    smoke: bool,
    throughput: list[dict[str, Any]],
    latency: list[dict[str, Any]],
    rss_mb: dict[str, float] | None = None,
    together: list[dict[str, Any]] | None = None,
) -> dict[str, object]:
    rps = _summary(throughput, "rps")
    cpu = _summary(throughput, "cpu_us_per_request")
    lat = _open_summary(latency)
    pairs = _side_by_side(together or [])
    rss_mb = rss_mb or {}
    return {
        "kind": "smoke" if smoke else "full",
        "machine": machine_info,
        "plan": plan,
        "throughput": rps,
        "cpu_us_per_request": cpu,
        "open_loop": lat,
        "side_by_side": pairs,
        "targets": _targets(throughput, cpu, lat, pairs) + _memory(rss_mb),
        "rss_mb": rss_mb,
        "raw": {"throughput": throughput, "open_loop": latency, "side_by_side": together or []},
    }


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return "n/a" if value is None else str(value)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"# Bench results ({results['kind']})",
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, "
        f"load average at start {' '.join(m['loadavg_at_start'])}; "
        f"kernel {m['kernel']}, Python {m['python']}, commit {m['commit']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        f"Plan: {results['plan']}. SUT on cpu 0, wrk/generator and stub on cpu 1.",
        "",
        "## Closed loop (wrk): requests/s and SUT CPU per request",
        "",
        "| Arm | req/s median | min | max | CPU us/req median | min | max | n |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm, r in results["throughput"].items():
        c = results["cpu_us_per_request"][arm]
        lines.append(
            f"| {arm} | {_fmt(r['median'])} | {_fmt(r['min'])} | {_fmt(r['max'])} | "
            f"{_fmt(c['median'])} | {_fmt(c['min'])} | {_fmt(c['max'])} | {r['n']} |"
        )
    lines += [
        "",
        "## Open loop: latency from the scheduled time (ms), rate = share of C-read's max",
        "",
        "| Series | rate/s | achieved/s | p50 | p99 median | p99 min | p99 max | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in results["open_loop"].items():
        lines.append(
            f"| {key} | {r['rate']} | {_fmt(r['achieved'])} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['p99_ms_min']} | {r['p99_ms_max']} | {r['errors']} |"
        )
    lines += [
        "",
        "## D and D0 side by side: CPU us per request, loaded at the same time on cpu 0",
        "",
        "| Operation | D median | D0 median | D/D0 median of repeats | min | max | n |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op, r in results.get("side_by_side", {}).items():
        lines.append(
            f"| {op} | {_fmt(r['D'])} | {_fmt(r['D0'])} | {_fmt(r['median'])} | "
            f"{_fmt(r['min'])} | {_fmt(r['max'])} | {r['n']} |"
        )
    profiles = {
        row["arm"]: row["profile_steps"]
        for row in results["raw"]["throughput"]
        if "profile_steps" in row
    }
    if profiles:
        lines += [
            "",
            "## Profiled arms: user CPU us per request by step (py-spy, run.py --profile)",
            "",
            steps_table(profiles).rstrip("\n"),
        ]
    lines += ["", "## Targets", "", "| Target | Value | Goal | Met |", "|---|---:|---|---|"]
    for t in results["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {t['goal']} | {met} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Re-render a results file's targets and table: python bench/report.py RESULTS.json."""
    import json
    import sys
    from pathlib import Path

    path = Path(sys.argv[1])
    results = json.loads(path.read_text())
    raw = results["raw"]
    machine_info = results["machine"]
    smoke = results["kind"] == "smoke"
    rebuilt = build(
        machine_info,
        results["plan"],
        smoke,
        raw["throughput"],
        raw["open_loop"],
        results.get("rss_mb"),
        raw.get("side_by_side"),
    )
    path.write_text(json.dumps(rebuilt, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(rebuilt))


if __name__ == "__main__":
    main()
