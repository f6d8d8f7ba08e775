"""Cutover commands of `orders-bridge`: `policy set|canary|shadow|check` and `backfill`.

`policy set --app NAME --target legacy` is the kill switch: it rewrites the policy file
atomically and the running bridges apply it within `BRIDGE_POLICY_POLL_SECONDS` (or at once
on SIGHUP). See docs/runbook.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import IO

import aiohttp

from bridge.backfill import Backfill, BackfillError, Summary, read_customers
from bridge.canonical import Target
from bridge.clock import SystemClock
from bridge.policy import Operation, PolicyError, load_policy
from bridge.policy_edit import Edit, canary_edit, edit_policy_file, shadow_edit, target_edit
from bridge.settings import AppConfig, Settings
from bridge.store.database import create_engine, dispose
from bridge.store.history import HistoryStore

COMMANDS = frozenset({"policy", "backfill"})


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="inspect or change the cutover policy file")
    actions = policy.add_subparsers(dest="policy_action", required=True, metavar="ACTION")
    change = actions.add_parser("set", help="send an app (or one operation) to a target now")
    _app_and_file(change)
    _target(change)
    _operation(change, "only this operation (default: the whole app)")
    canary = actions.add_parser("canary", help="send a share of an app's customers to a target")
    _app_and_file(canary)
    _target(canary)
    canary.add_argument(
        "--percent", required=True, type=_percent, help="0 to 100 (0 removes the canary)"
    )
    shadow = actions.add_parser("shadow", help="set or clear an app's (or operation's) shadow")
    _app_and_file(shadow)
    _operation(shadow, "only this operation (default: the app's default)")
    side = shadow.add_mutually_exclusive_group(required=True)
    side.add_argument(
        "--target", choices=[t.value for t in Target], help="repeat sampled calls on this target"
    )
    side.add_argument(
        "--clear", action="store_true", help="remove the shadow (app scope: every operation's too)"
    )
    shadow.add_argument(
        "--sample-rate", type=_share, default=1.0, help="share of calls repeated, 0 to 1 (1)"
    )
    check = actions.add_parser("check", help="validate the policy file and print its version")
    _file(check)
    backfill = commands.add_parser(
        "backfill", help="copy customers' legacy order history into the ledger (resumable)"
    )
    backfill.add_argument("--app", required=True, help="the app's name in the apps file")
    backfill.add_argument(
        "--customers", required=True, type=Path, help="one user_id (or external:ID) per line"
    )
    backfill.add_argument("--state", type=Path, help="progress file (default: CUSTOMERS.done)")
    backfill.add_argument(
        "--page-size", type=_positive, default=100, help="orders per legacy page (100)"
    )
    backfill.add_argument(
        "--no-progress", action="store_true", help="no progress bar (none off a terminal anyway)"
    )


def _file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, help="policy file (default: BRIDGE_POLICY_FILE)")


def _app_and_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app", required=True, help="the app's name in the apps file")
    _file(parser)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", required=True, choices=[t.value for t in Target], help="where calls go"
    )


def _operation(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--operation", choices=[op.value for op in Operation], help=text)


def _number(text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is not between {low:g} and {high:g}")
    return value


def _percent(text: str) -> float:
    return _number(text, 0, 100)


def _share(text: str) -> float:
    return _number(text, 0, 1)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backfill":
        return _backfill(args, settings)
    return _policy(args, settings)


def _edit(args: argparse.Namespace) -> tuple[Edit, str]:
    """The edit an action asks for, and the one line that says what it did."""
    operation = Operation(args.operation) if getattr(args, "operation", None) else None
    scope = f"{args.app}" + (f" {operation.value}" if operation else "")
    if args.policy_action == "set":
        return target_edit(args.app, Target(args.target), operation), f"{scope} -> {args.target}"
    if args.policy_action == "canary":
        percent = f"{args.percent:g}%"
        return (
            canary_edit(args.app, Target(args.target), args.percent),
            f"{scope} canary -> {args.target} {percent}"
            if args.percent
            else f"{scope} canary removed",
        )
    if args.clear:
        return shadow_edit(args.app, None, operation=operation), f"{scope} shadow cleared"
    return (
        shadow_edit(args.app, Target(args.target), args.sample_rate, operation),
        f"{scope} shadow -> {args.target} at {args.sample_rate:g}",
    )


def _policy(args: argparse.Namespace, settings: Settings) -> int:
    path: Path | None = args.file or settings.policy_file
    if path is None:
        print("orders-bridge: no policy file (set BRIDGE_POLICY_FILE or --file)", file=sys.stderr)
        return 2
    now = SystemClock().now()
    try:
        if args.policy_action == "check":
            policy = load_policy(path, settings.apps, now)
            print(f"{path}: valid, version {policy.version.hash}")
            return 0
        edit, done = _edit(args)
        policy = edit_policy_file(path, settings.apps, now, edit)
    except PolicyError as exc:
        print(f"orders-bridge policy {args.policy_action}: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: {done}, version {policy.version.hash}")
    return 0


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    """Run the backfill, print its summary; exit 1 if legacy failed (rerun to resume)."""
    app = next((app for app in settings.apps if app.name == args.app), None)
    if app is None or app.legacy_base_url is None:
        print(
            f"orders-bridge: app {args.app!r} is unknown or has no legacy_base_url", file=sys.stderr
        )
        return 2
    customers = read_customers(args.customers)
    state: Path = args.state or args.customers.with_name(args.customers.name + ".done")
    done = set(read_customers(state)) if state.exists() else set()
    with state.open("a", encoding="utf-8") as checkpoint:
        summary, error = asyncio.run(
            _run_backfill(
                settings, app, args.page_size, customers, done, checkpoint, not args.no_progress
            )
        )
    for line in summary.lines():
        print(line)
    if error is not None:
        print(f"orders-bridge: backfill stopped: {error} (rerun to resume)", file=sys.stderr)
        return 1
    return 0


async def _run_backfill(
    settings: Settings,
    app: AppConfig,
    page_size: int,
    customers: list[str],
    done: set[str],
    checkpoint: IO[str],
    show_progress: bool,
) -> tuple[Summary, BackfillError | None]:
    engine = create_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    timeout = aiohttp.ClientTimeout(
        total=settings.legacy_timeout_seconds, connect=settings.legacy_connect_timeout_seconds
    )
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            backfill = Backfill(app, session, HistoryStore(engine), page_size)
            try:
                await backfill.run(customers, done, checkpoint, show_progress)
            except BackfillError as exc:
                return backfill.summary, exc
            return backfill.summary, None
    finally:
        await dispose(engine)
