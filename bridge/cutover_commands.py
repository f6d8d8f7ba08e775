"""Cutover commands of `orders-bridge`: `policy set`, `policy check` (and `backfill`).

`policy set --app NAME --target legacy` is the kill switch: it rewrites the policy file
atomically and the running bridges apply it within `BRIDGE_POLICY_POLL_SECONDS` (or at once
on SIGHUP). See docs/runbook.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.canonical import Target
from bridge.clock import SystemClock
from bridge.policy import Operation, PolicyError, load_policy
from bridge.policy_edit import edit_policy_file
from bridge.settings import Settings

COMMANDS = frozenset({"policy"})


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="inspect or change the cutover policy file")
    actions = policy.add_subparsers(dest="policy_action", required=True)
    change = actions.add_parser("set", help="send an app (or one operation) to a target now")
    change.add_argument("--app", required=True, help="the app's name in the apps file")
    change.add_argument("--target", required=True, choices=[t.value for t in Target])
    change.add_argument("--operation", choices=[op.value for op in Operation])
    change.add_argument("--file", type=Path, help="policy file (default: BRIDGE_POLICY_FILE)")
    check = actions.add_parser("check", help="validate the policy file and print its version")
    check.add_argument("--file", type=Path, help="policy file (default: BRIDGE_POLICY_FILE)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    path: Path | None = args.file or settings.policy_file
    if path is None:
        print("orders-bridge: no policy file (set BRIDGE_POLICY_FILE or --file)", file=sys.stderr)
        return 2
    now = SystemClock().now()
    try:
        if args.policy_action == "set":
            policy = edit_policy_file(
                path,
                settings.apps,
                now,
                app=args.app,
                target=Target(args.target),
                operation=Operation(args.operation) if args.operation else None,
            )
        else:
            policy = load_policy(path, settings.apps, now)
    except PolicyError as exc:
        print(f"orders-bridge: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: valid, version {policy.version.hash}")
    return 0
