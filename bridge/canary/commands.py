"""`orders-bridge canary status|pause|resume|promote|history`: the automated canary by hand.

Works on the bridge's database directly (every replica follows within a poll): `status`
lists the plans the policy declares with where each stands; `pause`, `resume`, `promote
[--full]` change one (app, operation); `history` prints the decisions, newest first.
`--json` prints JSON instead of an aligned table. Exit status 2 with one line when the
command does not apply (pausing a paused canary, an operation without an analysed canary).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bridge.canary.decider import analysed
from bridge.canary.operator import command as apply_command
from bridge.canary.plan import Command, CommandRefused
from bridge.canary.store import CanaryStore
from bridge.clock import SystemClock
from bridge.cutover.policy import Policy, default_policy, load_policy
from bridge.settings import Settings
from bridge.store.executor import open_database

COMMANDS = frozenset({"canary"})
ACTIONS = ("status", "pause", "resume", "promote", "history")


def add_commands(commands: Any) -> None:
    """Register `canary` on the CLI's subparsers."""
    canary = commands.add_parser("canary", help="the automated canary: status, pause, ...")
    canary.add_argument("action", choices=ACTIONS, help="what to do: " + ", ".join(ACTIONS))
    canary.add_argument("--app", help="the app (required for pause, resume, promote)")
    canary.add_argument("--operation", help="the operation (required for pause, resume, promote)")
    canary.add_argument("--full", action="store_true", help="promote: straight to 100 %%")
    canary.add_argument("--limit", type=int, default=20, help="history: how many decisions")
    canary.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    policy = (
        load_policy(settings.policy_file, settings.apps, now)
        if settings.policy_file is not None
        else default_policy(now)
    )
    db = open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    store = CanaryStore(db)
    try:
        if args.action == "status":
            rows = await _status(store, policy)
        elif args.action == "history":
            rows = [
                _flat(asdict(d)) for d in await store.history(args.app, args.operation, args.limit)
            ]
        else:
            rows = [await _command(store, policy, args)]
    except CommandRefused as exc:
        print(f"orders-bridge canary {args.action}: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(json.dumps(rows, indent=2) if args.json else aligned(rows))
    return 0


async def _status(store: CanaryStore, policy: Policy) -> list[dict[str, Any]]:
    plans = await store.plans()
    rows = []
    for plan in analysed(policy):
        state = plans.get((plan.app, plan.operation.value))
        rows.append(
            {
                "app": plan.app,
                "operation": plan.operation.value,
                "percent": state.percent if state else 0.0,
                "status": state.status.value if state else "not_started",
                "steps": "/".join(f"{step:g}" for step in plan.analysis.steps),
                "since": state.step_started_at.isoformat() if state else "",
            }
        )
    return rows


async def _command(store: CanaryStore, policy: Policy, args: argparse.Namespace) -> dict[str, Any]:
    if not args.app or not args.operation:
        raise CommandRefused("--app and --operation are required")
    found = [
        p for p in analysed(policy) if (p.app, p.operation.value) == (args.app, args.operation)
    ]
    if not found:
        raise CommandRefused(
            f"{args.app} {args.operation} has no canary with analysis in the policy"
        )
    decision = await apply_command(
        store,
        (args.app, args.operation),
        found[0].analysis,
        Command(args.action),
        SystemClock().now(),
        f"operator:{getpass.getuser()}",
        args.full,
    )
    return _flat(asdict(decision))


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    row = {**row, "at": row["at"].isoformat()}
    figures = row.pop("figures")
    row["figures"] = " ".join(f"{k}={v}" for k, v in figures.items() if v is not None)
    return row


def aligned(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as an aligned text table (the keys of the first row are the header)."""
    if not rows:
        return "(none)"
    header = list(rows[0])
    cells = [header] + [[str(row.get(name, "")) for name in header] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )
