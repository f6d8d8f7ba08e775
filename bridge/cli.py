"""orders-bridge: the legacy Orders API bridge and its operator commands.

Every command takes its settings from BRIDGE_ environment variables (docs/configuration.md);
`orders-bridge COMMAND --help` describes one. Commands that change something print one line
saying what they did; summaries print as aligned text, or as JSON with --json where offered;
progress bars show on a terminal only. Secrets are never options: they come from the
environment or from files.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from importlib.metadata import version

import structlog
import yaml
from pydantic import ValidationError

from bridge.app import create_app
from bridge.canary import commands as canary_commands
from bridge.crypto import EmailCipher
from bridge.cutover import commands as cutover_commands
from bridge.cutover.policy import PolicyError
from bridge.incentives import commands as incentives_commands
from bridge.observability.logging import configure_logging
from bridge.reconcile import commands as reconcile_commands
from bridge.runtime import startup
from bridge.runtime.serving import serve
from bridge.runtime.workers import serve_workers
from bridge.settings import Settings
from bridge.shadow import commands as shadow_commands
from bridge.store import commands as db_commands
from bridge.store.executor import IntegrityError, open_database
from bridge.store.key_rotation import rotate_email_keys

COMMAND_MODULES = (
    db_commands,
    incentives_commands,
    cutover_commands,
    shadow_commands,
    reconcile_commands,
    canary_commands,
)
"""Each registers its commands (`add_commands`) and runs them (`COMMANDS`, `run`)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "generate-key":
        print(EmailCipher.generate_key())
        return 0
    if args.command in incentives_commands.WITHOUT_SETTINGS:
        return incentives_commands.run_without_settings(args)
    try:
        settings = startup.load_settings()
        if args.command in NEEDS_DATABASE:
            startup.check_database(settings)
    except startup.STARTUP_ERRORS as exc:
        print(f"orders-bridge: invalid configuration: {startup.describe(exc)}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        return _run(args, settings)
    except USER_ERRORS as exc:
        print(f"orders-bridge {args.command}: {_first_line(exc)}", file=sys.stderr)
        return 2


NEEDS_DATABASE = frozenset({"serve", "db", "load", "rotate-email-keys", "reconcile", "backfill"})
"""Commands whose store is checked first (startup.check_database): one line, not a trace."""

USER_ERRORS = (ValueError, OSError, yaml.YAMLError, IntegrityError)
"""What a person can put right (a missing key, a bad or conflicting data file): one clear
line on stderr and exit status 2, never a traceback."""


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = exc.errors(include_url=False, include_input=False)
        return "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
    if isinstance(exc, IntegrityError):
        return f"the data conflicts with rows already stored ({_first_line(exc.__cause__ or exc)})"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _run(args: argparse.Namespace, settings: Settings) -> int:
    for commands in COMMAND_MODULES:
        if args.command in commands.COMMANDS:
            status: int = commands.run(args, settings)
            return status
    if args.command == "serve":
        return _serve(_listening(settings, args), args.workers)
    return asyncio.run(_rotate_email_keys(settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orders-bridge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('orders-bridge')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_command = commands.add_parser("serve", help="serve the legacy Orders API")
    serve_command.add_argument(
        "--host", help="address to listen on (default: BRIDGE_HOST, else 127.0.0.1)"
    )
    serve_command.add_argument(
        "--port", type=_port, help="port to listen on (default: BRIDGE_PORT, else 8080)"
    )
    serve_command.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="serving processes sharing the port (SO_REUSEPORT), at least 1 (default: 1)",
    )
    commands.add_parser("generate-key", help="print a new email encryption key")
    commands.add_parser(
        "rotate-email-keys",
        help="re-encrypt stored emails under the first key of BRIDGE_EMAIL_KEYS",
    )
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def _whole(text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high}")
    return int(text)


def _port(text: str) -> int:
    return _whole(text, 0, 65535)


def _workers(text: str) -> int:
    return _whole(text, 1, 512)


def _listening(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with --host and --port, when given, instead of BRIDGE_HOST/BRIDGE_PORT."""
    given = {name: getattr(args, name) for name in ("host", "port")}
    return settings.model_copy(update={k: v for k, v in given.items() if v is not None})


def _serve(settings: Settings, workers: int = 1) -> int:
    try:
        application = create_app(settings)
    except PolicyError as exc:
        print(f"orders-bridge: invalid policy: {exc}", file=sys.stderr)
        return 2
    if workers > 1:
        return serve_workers(lambda: create_app(settings), settings, workers)
    serve(application, settings)
    return 0


async def _rotate_email_keys(settings: Settings) -> int:
    """Re-encrypt stored emails under the first key; exit 1 if some email no key decrypts."""
    engine = open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    cipher = EmailCipher([key.get_secret_value() for key in settings.email_keys])
    try:
        counts = await rotate_email_keys(engine, cipher)
    finally:
        await engine.close()
    for table, count in counts.items():
        structlog.get_logger().info(
            "email_keys_rotated",
            table=table,
            rotated=count.rotated,
            current=count.current,
            unreadable=count.unreadable,
        )
    return 1 if any(count.unreadable for count in counts.values()) else 0
