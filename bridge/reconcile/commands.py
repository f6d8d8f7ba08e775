"""`orders-bridge reconcile`: the ledger against the Incentives upstream (docs/reconcile.md).

orders-bridge reconcile --app NAME [--since S] [--customer ID ...] [--json] [--repair]
                        [--metrics-file PATH]

Exit status: 0 no drift; 1 drift found (repaired or not: run again to see what remains);
2 bad usage; 3 no drift found, but some customers could not be read upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog
from prometheus_client import CollectorRegistry, write_to_textfile
from tqdm import tqdm

from bridge.canonical import Target
from bridge.clock import SystemClock
from bridge.crypto import EmailCipher
from bridge.errors import RuleError, UpstreamError
from bridge.incentives.backend import IncentivesBackend, write_id
from bridge.incentives.tenant import Tenant
from bridge.observability.metrics import Metrics, ReconcileMetrics
from bridge.orders.compensation import Compensation
from bridge.reconcile.books import UNDONE, CustomerBooks, Drift, DriftKind, LedgerRow, compare
from bridge.reconcile.repair import Repairs
from bridge.reconcile.upstream import read_facts
from bridge.settings import AppConfig, Settings
from bridge.shadow.report import parse_since
from bridge.store.books import BookRow, Books
from bridge.store.executor import open_database
from bridge.store.ledger import Ledger
from bridge.store.reconcile_runs import ReconcileRun, ReconcileRuns
from bridge.store.remote_orders import RemoteOrders

COMMANDS = frozenset({"reconcile"})
DRIFT_FOUND, USAGE, UNREADABLE = 1, 2, 3

log = structlog.get_logger()


def add_commands(commands: Any) -> None:
    """Register the subcommand on the CLI's subparsers."""
    reconcile = commands.add_parser(
        "reconcile", help="compare the ledger with the Incentives upstream, optionally repair"
    )
    reconcile.add_argument("--app", required=True, help="the app (tenant) to reconcile")
    reconcile.add_argument("--since", help="ISO date/date-time, or a span like 6h or 7d")
    reconcile.add_argument(
        "--customer", action="append", default=[], help="also check this customer (repeatable)"
    )
    reconcile.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reconcile.add_argument("--repair", action="store_true", help="apply the repairs")
    reconcile.add_argument(
        "--metrics-file", type=Path, help="write bridge_reconcile_* for a textfile collector"
    )


@dataclass(frozen=True)
class Outcome:
    drift: Drift
    result: str
    """found (no --repair) | repaired | unchanged (moved meanwhile) | failed | manual | follows"""


@dataclass
class Report:
    app: str
    since: datetime | None
    customers: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        if self.outcomes:
            return DRIFT_FOUND
        return UNREADABLE if self.unreadable else 0

    def counts(self) -> dict[str, int]:
        found = Counter(outcome.drift.kind.value for outcome in self.outcomes)
        return {kind.value: found[kind.value] for kind in DriftKind}


def run(args: argparse.Namespace, settings: Settings) -> int:
    app = next((app for app in settings.apps if app.name == args.app), None)
    if app is None or app.incentives is None:
        print(f"orders-bridge reconcile: app {args.app!r} has no incentives block", file=sys.stderr)
        return USAGE
    try:
        since = parse_since(args.since, SystemClock().now()) if args.since else None
    except ValueError as exc:
        print(f"orders-bridge reconcile: --since: {exc}", file=sys.stderr)
        return USAGE
    report = asyncio.run(reconcile_app(app, settings, since, args.customer, repair=args.repair))
    print(orjson.dumps(as_json(report)).decode() if args.json else render(report))
    if args.metrics_file is not None:
        write_metrics(report, args.metrics_file)
    return report.status


@dataclass(frozen=True)
class Session:
    books: Books
    tenant: Tenant
    repairs: Repairs | None
    in_flight: timedelta
    runs: ReconcileRuns


@asynccontextmanager
async def _session(app: AppConfig, settings: Settings, *, repair: bool) -> AsyncIterator[Session]:
    """The store and the app's upstream, opened for one run and closed after it."""
    engine = open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    clock = SystemClock()
    metrics = Metrics(CollectorRegistry())
    cipher = EmailCipher([key.get_secret_value() for key in settings.email_keys])
    orders = RemoteOrders(engine, Ledger(engine, cipher), Target.INCENTIVES)
    backend = IncentivesBackend.build([app], orders, clock, metrics)
    tenant = backend.tenant(app.name) if backend else None
    assert backend is not None
    assert tenant is not None  # the app has an incentives block
    books = Books(engine)
    compensation = Compensation(backend, orders, clock, metrics)
    await backend.open()
    try:
        repairs = Repairs(books, tenant, compensation, clock) if repair else None
        yield Session(books, tenant, repairs, _in_flight(app), ReconcileRuns(engine))
    finally:
        await backend.close()
        await engine.close()


async def reconcile_app(
    app: AppConfig,
    settings: Settings,
    since: datetime | None,
    customers: list[str],
    *,
    repair: bool,
) -> Report:
    """Compare (and repair) every customer of the app: the ledger's, and those named; record
    the run's drift count (bridge/store/reconcile_runs.py)."""
    report = Report(app.name, since)
    lookback = None if since is None else since - _landing_window(app, settings)
    async with _session(app, settings, repair=repair) as session:
        everyone = sorted(set(await session.books.customers(app.name, lookback)) | set(customers))
        report.customers = len(everyone)
        for customer in tqdm(everyone, desc="reconcile", unit="customer", disable=None):
            try:
                report.outcomes += await _customer(session, customer, since, lookback)
            except (RuleError, UpstreamError) as exc:  # refused, or not reachable
                log.warning("reconcile_customer_unreadable", app=app.name, code=exc.code.value)
                report.unreadable.append(customer)
        await session.runs.record(  # the automated canary's `reconcile_drift` reads it
            ReconcileRun(
                app.name,
                SystemClock().now(),
                report.customers,
                len(report.outcomes),
                len(report.unreadable),
            )
        )
    return report


def _landing_window(app: AppConfig, settings: Settings) -> timedelta:
    """How long after its row was written a purchase may still land upstream: a keyed retry
    places it until the key expires, and a sent call may land until its in-flight window ends.
    Rows that much older than `--since` are read to recognise such purchases."""
    return timedelta(seconds=settings.idempotency_ttl_seconds) + _in_flight(app)


def _in_flight(app: AppConfig) -> timedelta:
    """How long a sent purchase may still land (as long as the bridge's undo job waits)."""
    assert app.incentives is not None
    config = app.incentives
    return timedelta(seconds=2 * config.total_timeout_seconds + config.in_flight_margin_seconds)


async def _customer(
    session: Session, customer: str, since: datetime | None, lookback: datetime | None
) -> list[Outcome]:
    app = session.tenant.app
    landed_by = SystemClock().now() - session.in_flight
    rows = [
        _ledger_row(
            row,
            context=since is not None and row.created_at < since,
            abandoned=row.backend_ref is None
            and row.status not in UNDONE
            and not row.compensating
            and row.created_at < landed_by,
        )
        for row in await session.books.rows(app, customer, lookback)
    ]
    purchases, deposits = await read_facts(session.tenant, customer, since)
    facts = CustomerBooks(app, customer, tuple(rows), tuple(purchases), tuple(deposits))
    drift = compare(facts)
    if session.repairs is None:
        return [Outcome(found, "found") for found in drift]
    return [Outcome(found, await session.repairs.apply(found)) for found in drift]


def _ledger_row(row: BookRow, *, context: bool, abandoned: bool) -> LedgerRow:
    """The row with the ids of the bridge's own upstream writes for it."""
    return LedgerRow(
        order_id=row.id,
        customer_id=row.customer_id,
        points=row.points,
        status=row.status,
        backend_ref=row.backend_ref,
        created_at=row.created_at,
        purchase_key=write_id(row.app, row.id, row.created_at, "purchase"),
        refund_key=write_id(row.app, row.id, row.created_at, "refund"),
        compensating=row.compensating,
        context=context,
        abandoned=abandoned,
    )


COLUMNS = ("kind", "customer", "order", "user offer", "points", "repair", "result")


def _cells(outcome: Outcome) -> tuple[str, ...]:
    drift = outcome.drift
    return (
        drift.kind.value,
        drift.customer_id,
        "" if drift.order_id is None else str(drift.order_id),
        drift.user_offer_id or "",
        str(drift.points),
        drift.repair.value,
        outcome.result,
    )


def render(report: Report) -> str:
    """An aligned table of the drift and a summary line."""
    lines = []
    if report.outcomes:
        table = [COLUMNS, *(_cells(outcome) for outcome in report.outcomes)]
        widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in table
        ]
        lines.append("")
    counts = ", ".join(f"{kind} {n}" for kind, n in report.counts().items() if n)
    lines.append(
        f"reconcile {report.app}: {report.customers} customers, "
        f"{len(report.outcomes)} drift" + (f" ({counts})" if counts else "")
    )
    if report.unreadable:
        lines.append(f"could not read upstream: {', '.join(report.unreadable)}")
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, Any]:
    return {
        "app": report.app,
        "since": report.since.isoformat() if report.since else None,
        "customers": report.customers,
        "counts": report.counts(),
        "drift": [
            {
                "kind": o.drift.kind.value,
                "customer_id": o.drift.customer_id,
                "order_id": o.drift.order_id,
                "user_offer_id": o.drift.user_offer_id,
                "points": o.drift.points,
                "repair": o.drift.repair.value,
                "result": o.result,
            }
            for o in report.outcomes
        ],
        "unreadable": report.unreadable,
    }


def write_metrics(report: Report, path: Path) -> None:
    """bridge_reconcile_drift per kind (zeros included) and the run's time, in the text format
    node_exporter's textfile collector reads (written atomically)."""
    metrics = ReconcileMetrics(CollectorRegistry())
    for kind, count in report.counts().items():
        metrics.drift.labels(report.app, kind).set(count)
    metrics.last_run.labels(report.app).set_to_current_time()
    write_to_textfile(str(path), metrics.registry)
