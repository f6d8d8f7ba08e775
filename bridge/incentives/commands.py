"""The Incentives commands of the CLI: sandbox, check-mappings, sync-offers.

orders-bridge sandbox --port P --data FILE [--host H] [--database-url URL] [--connect-key K]
    (the Connect secret from BRIDGE_SANDBOX_CONNECT_SECRET or --connect-secret-file, never a
    flag: command lines are visible to every user of the host)
orders-bridge check-mappings
orders-bridge sync-offers --app NAME
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bridge.clock import SystemClock
from bridge.crypto import EmailCipher
from bridge.incentives.coverage import coverage_report
from bridge.incentives.offer_sync import match_offers
from bridge.sandbox import ids
from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.config import DEMO_CONNECT_KEY, DEMO_CONNECT_SECRET, SandboxConfig
from bridge.settings import Settings
from bridge.store.catalog import Catalog
from bridge.store.dataload import DataFile, load_data, read_data_file
from bridge.store.executor import open_database
from bridge.store.migrate import upgrade

COMMANDS = frozenset({"sandbox", "check-mappings", "sync-offers"})
WITHOUT_SETTINGS = frozenset({"check-mappings"})


def add_commands(commands: Any) -> None:
    """Register the subcommands on the CLI's subparsers."""
    sandbox = commands.add_parser("sandbox", help="serve the Incentives sandbox")
    sandbox.add_argument("--port", type=int, required=True, help="port to listen on")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    sandbox.add_argument("--data", type=Path, required=True, help="data file to load")
    sandbox.add_argument(
        "--database-url",
        default="sqlite:///.data/sandbox.db",
        help="the sandbox's own database (sqlite:///.data/sandbox.db)",
    )
    sandbox.add_argument(
        "--connect-key", default=DEMO_CONNECT_KEY, help=f"Connect API key ({DEMO_CONNECT_KEY})"
    )
    sandbox.add_argument(
        "--connect-secret-file",
        type=Path,
        help="file holding the Connect secret (default: BRIDGE_SANDBOX_CONNECT_SECRET, "
        "else the demo secret)",
    )
    commands.add_parser("check-mappings", help="validate the mappings, print the coverage matrix")
    sync = commands.add_parser("sync-offers", help="print an app's offer id map from its catalog")
    sync.add_argument("--app", required=True, help="the app's name in the apps file")
    sync.add_argument(
        "--reward-store", action="append", default=[], help="reward store id (repeatable)"
    )


def run_without_settings(args: argparse.Namespace) -> int:
    report, problems = coverage_report()
    print(report)
    for problem in problems:
        print(f"UNMAPPED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "sandbox":
        return _sandbox(args, settings)
    return asyncio.run(sync_offers(args.app, args.reward_store, settings))


def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    keys = [key.get_secret_value() for key in settings.email_keys]
    data = read_data_file(args.data)
    upgrade(args.database_url)
    asyncio.run(_load(args.database_url, keys, data))
    config = SandboxConfig.for_apps(data.apps, args.connect_key, _connect_secret(args))
    for tenant in config.tenants:
        print(
            f"sandbox tenant {tenant.app}: retailer_id {tenant.retailer_id}, reward store "
            f"{ids.reward_store_id(tenant.app)}, Core key {tenant.core_api_key}"
        )
    app = create_sandbox_app(config, args.database_url, keys, clock=SystemClock())
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


def _connect_secret(args: argparse.Namespace) -> str:
    if args.connect_secret_file is not None:
        secret: str = args.connect_secret_file.read_text(encoding="utf-8").strip()
        return secret
    return os.environ.get("BRIDGE_SANDBOX_CONNECT_SECRET", DEMO_CONNECT_SECRET)


async def _load(database_url: str, keys: list[str], data: DataFile) -> None:
    db = open_database(database_url)
    try:
        await load_data(Catalog(db, EmailCipher(keys)), data)
    finally:
        await db.close()


async def sync_offers(app_name: str, stores: list[str], settings: Settings) -> int:
    """Print the app's `offers` id map (YAML) matched from its catalog; 2 without incentives."""
    app = next((app for app in settings.apps if app.name == app_name), None)
    if app is None or app.incentives is None:
        print(f"orders-bridge: app {app_name!r} has no incentives block", file=sys.stderr)
        return 2
    offers, unmatched = await match_offers(app, SystemClock(), stores)
    print(yaml.safe_dump({"offers": offers}, sort_keys=True), end="")
    for line in unmatched:
        print(f"unmatched: {line}", file=sys.stderr)
    return 0
