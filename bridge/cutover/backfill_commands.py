"""`orders-bridge backfill`: copy customers' legacy order history into the ledger (resumable).

The history goes into the bridge's store and, when a shadow store is configured
(`BRIDGE_SHADOW__DATABASE_URL`), into the shadow store too, so that read shadows compare
against the same history (docs/runbook.md, step 1). Each store keeps its own progress file
(`CUSTOMERS.done`, `CUSTOMERS.shadow.done`). The summary prints as an aligned table, or as
JSON with `--json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import IO, Any

import aiohttp

from bridge.cutover.backfill import Backfill, BackfillError, Outcome, Summary, read_customers
from bridge.settings import AppConfig, Settings
from bridge.store.executor import open_database
from bridge.store.history import HistoryStore

CUSTOMER_COLUMNS = [outcome.value for outcome in Outcome] + ["already_done"]
ORDER_COLUMNS = ["inserted", "updated", "unchanged", "conflict", "invalid"]


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backfill = commands.add_parser(
        "backfill", help="copy customers' legacy order history into the ledger (resumable)"
    )
    backfill.add_argument("--app", required=True, help="the app's name in the apps file")
    backfill.add_argument(
        "--customers", required=True, type=Path, help="one user_id (or external:ID) per line"
    )
    backfill.add_argument("--state", type=Path, help="progress file (default: CUSTOMERS.done)")
    backfill.add_argument(
        "--page-size", type=_positive, default=100, help="orders per legacy page (default: 100)"
    )
    backfill.add_argument(
        "--no-progress", action="store_true", help="no progress bar (none off a terminal anyway)"
    )
    backfill.add_argument("--json", action="store_true", help="print the summary as JSON")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the backfill per store, print the summary; exit 1 if legacy failed (rerun)."""
    app = next((app for app in settings.apps if app.name == args.app), None)
    if app is None or app.legacy_base_url is None:
        print(
            f"orders-bridge backfill: app {args.app!r} is unknown or has no legacy_base_url",
            file=sys.stderr,
        )
        return 2
    state: Path = args.state or args.customers.with_name(args.customers.name + ".done")
    stores = {"main": (settings.database_url, state)}
    if settings.shadow.database_url is not None:
        shadow_state = state.with_name(state.name.removesuffix(".done") + ".shadow.done")
        stores["shadow"] = (settings.shadow.database_url, shadow_state)
    customers = read_customers(args.customers)
    show_progress = not args.no_progress and sys.stderr.isatty()
    summaries: dict[str, Summary] = {}
    error = None
    for store, (url, progress) in stores.items():
        done = set(read_customers(progress)) if progress.exists() else set()
        with progress.open("a", encoding="utf-8") as checkpoint:
            summaries[store], error = asyncio.run(
                _run(settings, url, app, args.page_size, customers, done, checkpoint, show_progress)
            )
        if error is not None:
            break
    print(_json(summaries) if args.json else _table(summaries))
    if error is not None:
        print(f"orders-bridge backfill: stopped: {error} (rerun to resume)", file=sys.stderr)
        return 1
    return 0


def _counts(summary: Summary) -> dict[str, int]:
    """Row -> count: customers by outcome, orders by outcome, pages read."""
    counts = {f"customers {name}": summary.customers[name] for name in CUSTOMER_COLUMNS}
    counts |= {f"orders {name}": summary.orders[name] for name in ORDER_COLUMNS}
    return counts | {"pages read": summary.pages}


def _json(summaries: dict[str, Summary]) -> str:
    document: dict[str, Any] = {
        store: {
            "customers": {name: s.customers[name] for name in CUSTOMER_COLUMNS},
            "orders": {name: s.orders[name] for name in ORDER_COLUMNS},
            "pages": s.pages,
        }
        for store, s in summaries.items()
    }
    return json.dumps(document, sort_keys=True)


def _table(summaries: dict[str, Summary]) -> str:
    """One column per store, one row per count, aligned."""
    columns = {store: _counts(summary) for store, summary in summaries.items()}
    names = list(_counts(Summary()))
    width = max(map(len, names))
    header = " " * width + "".join(f"  {store:>7}" for store in columns)
    rows = [
        name.ljust(width) + "".join(f"  {counts[name]:>7}" for counts in columns.values())
        for name in names
    ]
    return "\n".join([header, *rows])


async def _run(
    settings: Settings,
    url: str,
    app: AppConfig,
    page_size: int,
    customers: list[str],
    done: set[str],
    checkpoint: IO[str],
    show_progress: bool,
) -> tuple[Summary, BackfillError | None]:
    db = open_database(url, sqlite_synchronous=settings.sqlite_synchronous)
    timeout = aiohttp.ClientTimeout(
        total=settings.legacy_timeout_seconds, connect=settings.legacy_connect_timeout_seconds
    )
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            backfill = Backfill(app, session, HistoryStore(db), page_size)
            try:
                await backfill.run(customers, done, checkpoint, show_progress)
            except BackfillError as exc:
                return backfill.summary, exc
            return backfill.summary, None
    finally:
        await db.close()
