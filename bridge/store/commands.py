"""`orders-bridge db upgrade|current|history|downgrade` and `orders-bridge load`.

Each prints one line saying what it did (history: one line per revision). The database is
named by its URL with any password hidden. `db upgrade` also applies `BRIDGE_ORDER_ID_FLOOR`
(idempotent), so a database migrated for the shadow store, say, issues order ids above the
floor before any bridge has started on it (docs/runbook.md, step 0).
"""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from bridge.crypto import EmailCipher
from bridge.settings import Settings
from bridge.store.catalog import Catalog
from bridge.store.dataload import DataFile, load_data, read_data_file
from bridge.store.executor import open_database
from bridge.store.history import raise_order_id_floor
from bridge.store.migrate import alembic_config

COMMANDS = frozenset({"db", "load"})


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="migrate or inspect the database schema")
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    actions.add_parser(
        "upgrade", help="migrate to the newest revision and apply BRIDGE_ORDER_ID_FLOOR"
    )
    actions.add_parser("current", help="print the database's revision")
    actions.add_parser("history", help="list every revision, oldest first")
    downgrade = actions.add_parser("downgrade", help="migrate back to an older revision")
    downgrade.add_argument("revision", help="the revision to go back to (see `db history`)")
    load = commands.add_parser("load", help="load customers, offers and challenges from a file")
    load.add_argument("file", type=Path, help="data file (docs/data-file.md)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.database_url
    if args.command == "load":
        data = read_data_file(args.file)
        asyncio.run(_load(settings, data))
        print(f"{shown(url)}: loaded {args.file} ({_counts(data)})")
        return 0
    config = alembic_config(url)
    if args.db_action == "upgrade":
        command.upgrade(config, "head")
        floor = settings.order_id_floor
        asyncio.run(_raise_floor(settings, floor))
        above = f", order ids above {floor}" if floor else ""
        print(f"{shown(url)}: at revision {current(url)} (head){above}")
    elif args.db_action == "downgrade":
        command.downgrade(config, args.revision)
        print(f"{shown(url)}: at revision {current(url)}")
    elif args.db_action == "current":
        print(f"{shown(url)}: at revision {current(url)}")
    else:
        print(history(url))
    return 0


def shown(url: str) -> str:
    """The database URL as printed: its password, if any, hidden."""
    return sa.make_url(url).render_as_string(hide_password=True)


def current(url: str) -> str:
    """The database's revision as alembic prints it (`0006 (head)`), or `none`."""
    config = alembic_config(url)
    output = io.StringIO()
    config.stdout = output
    command.current(config)
    revision = output.getvalue().strip().splitlines()
    return revision[-1].removesuffix(" (head)") if revision else "none"


def history(url: str) -> str:
    """One aligned line per revision, oldest first: revision, the one before it, its title."""
    script = ScriptDirectory.from_config(alembic_config(url))
    rows = [
        (revision.revision, str(revision.down_revision or "-"), revision.doc or "")
        for revision in reversed(list(script.walk_revisions()))
    ]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{rev:<{width}}  after {down:<{width}}  {doc}" for rev, down, doc in rows)


def _counts(data: DataFile) -> str:
    apps = data.apps.values()
    parts = {
        "app": len(data.apps),
        "customer": sum(len(app.customers) for app in apps),
        "offer": sum(len(app.offers) for app in apps),
        "challenge": sum(len(app.challenges) for app in apps),
    }
    return ", ".join(f"{n} {name}{'' if n == 1 else 's'}" for name, n in parts.items())


async def _load(settings: Settings, data: DataFile) -> None:
    engine = open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    cipher = EmailCipher([key.get_secret_value() for key in settings.email_keys])
    try:
        await load_data(Catalog(engine, cipher), data)
    finally:
        await engine.close()


async def _raise_floor(settings: Settings, floor: int) -> None:
    if floor <= 0:
        return
    engine = open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        await raise_order_id_floor(engine, floor)
    finally:
        await engine.close()
