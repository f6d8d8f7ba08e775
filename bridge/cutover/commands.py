"""Cutover commands of `orders-bridge`: `policy set|canary|shadow|check` and `backfill`.

`policy set --app NAME --target legacy` is the kill switch: it rewrites the policy file
atomically and the running bridges apply it within `BRIDGE_POLICY_POLL_SECONDS` (or at once
on SIGHUP, or `POST /_bridge/policy/reload`). See docs/runbook.md. `backfill` is in
bridge/cutover/backfill_commands.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.canonical import Target
from bridge.clock import SystemClock
from bridge.cutover import backfill_commands
from bridge.cutover.edit import Edit, canary_edit, edit_policy_file, shadow_edit, target_edit
from bridge.cutover.policy import Operation, Policy, PolicyError, load_policy
from bridge.settings import Settings

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
    backfill_commands.add_command(commands)


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


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backfill":
        return backfill_commands.run(args, settings)
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
            return 1 if _warn_unserved_shadows(policy, settings) else 0
        edit, done = _edit(args)
        policy = edit_policy_file(path, settings.apps, now, edit)
    except PolicyError as exc:
        print(f"orders-bridge policy {args.policy_action}: {exc}", file=sys.stderr)
        return 2
    print(f"{path}: {done}, version {policy.version.hash}")
    _warn_unserved_shadows(policy, settings)
    return 0


def _warn_unserved_shadows(policy: Policy, settings: Settings) -> bool:
    """Warn (stderr) about shadows to `local` where no shadow store is set; True if any."""
    if settings.shadow.database_url is not None:
        return False
    unserved = [
        f"{app.name} {operation.value}"
        for app in settings.apps
        for operation in Operation
        if (shadow := policy.for_operation(app, operation).shadow) is not None
        and shadow.target is Target.LOCAL
    ]
    if unserved:
        print(
            f"orders-bridge policy: warning: {', '.join(unserved)} shadow to local, but "
            "BRIDGE_SHADOW__DATABASE_URL is not set here: those shadows would be dropped",
            file=sys.stderr,
        )
    return bool(unserved)
