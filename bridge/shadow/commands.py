"""Shadow commands of `orders-bridge`: `shadow report` and `replay` (docs/shadowing.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from bridge.clock import SystemClock
from bridge.cutover.policy import PolicyError, default_policy, load_policy
from bridge.settings import Settings
from bridge.shadow.replay import ReplayPlan, read_recording, replay
from bridge.shadow.report import gather_report, render_table
from bridge.shadow.rules import load_rules
from bridge.shadow.since import parse_since
from bridge.store.executor import open_database
from bridge.store.shadow_diffs import ShadowDiffs
from mappings.legacy.comparison import RULES

COMMANDS = frozenset({"shadow", "replay"})


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shadow = commands.add_parser("shadow", help="shadow traffic comparison")
    actions = shadow.add_subparsers(dest="shadow_action", required=True)
    report = actions.add_parser("report", help="comparisons, match rates, fields, readiness")
    report.add_argument("--app", help="only this app")
    report.add_argument("--since", help="ISO date/date-time, or a span like 6h or 7d")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    again = commands.add_parser("replay", help="replay recorded requests against two targets")
    again.add_argument("file", type=Path, help="JSON lines written by the request recorder")
    again.add_argument("--primary", required=True, help="base URL of the primary target")
    again.add_argument("--candidate", required=True, help="base URL of the candidate target")
    again.add_argument("--include-writes", action="store_true", help="also replay writes")
    again.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        report = asyncio.run(
            _report(args, settings) if args.command == "shadow" else _replay(args, settings)
        )
    except (PolicyError, ValueError, OSError) as exc:
        print(f"orders-bridge: {exc}", file=sys.stderr)
        return 2
    print(
        orjson.dumps(report).decode() if args.json else render_table(report),
        end="\n" if args.json else "",
    )
    return 0


async def _report(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    now = SystemClock().now()
    policy = (
        load_policy(settings.policy_file, settings.apps, now)
        if settings.policy_file is not None
        else default_policy(now)
    )
    engine = open_database(
        settings.shadow.diffs_database_url or settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    try:
        return await gather_report(
            ShadowDiffs(engine),
            now=now,
            config=settings.shadow,
            rules=load_rules(RULES),
            policy=policy.describe(settings.apps),
            since=parse_since(args.since, now) if args.since else None,
            app=args.app,
        )
    finally:
        await engine.close()


async def _replay(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    plan = ReplayPlan(args.primary, args.candidate, args.include_writes)
    return await replay(
        list(read_recording(args.file)),
        settings.apps,
        plan,
        load_rules(RULES),
        SystemClock().now(),
        settings.shadow,
    )
