"""Backfill: copy customers' legacy order history into the ledger as read-only history rows.

For each customer of the customers file, the legacy list-orders route is paged through
(`limit` = page size, `page` = 1, 2, ... until a short page) with the app's own credentials,
and every order is recorded with its original id (`bridge/store/history.py`). After it, list
and get on a migrated target include the old orders, and the locator sends updates of them to
legacy.

- Idempotent: recording an order twice changes nothing (a status that moved on legacy since
  the last run is refreshed). Orders arriving on legacy during a run shift pages newest-first,
  so an order may be seen twice (harmless), never skipped.
- Resumable: every customer finished is appended to the state file (default: the customers
  file + `.done`); a rerun skips them. A failure stops the run with the summary so far.
- Customers file: one customer per line, a SessionM `user_id`, or `external:<external_id>`;
  blank lines and `#` comments are ignored.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import ValidationError
from tqdm import tqdm

from bridge.canonical import Order
from bridge.settings import AppConfig
from bridge.store.history import HistoryStore, Recorded
from mappings.legacy.order import ORDER_FROM_WIRE
from mappings.legacy.wire import HistoryOrderWire

EXTERNAL_PREFIX = "external:"
INVALID = "invalid"
"""Outcome of a listed order that is not a well-formed legacy order (counted, skipped)."""


class Outcome(enum.StrEnum):
    DONE = "done"
    UNKNOWN_CUSTOMER = "unknown_customer"


class BackfillError(Exception):
    """Legacy could not be read; the run stops and can be resumed."""


@dataclass
class Summary:
    customers: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    pages: int = 0

    def lines(self) -> list[str]:
        return [
            f"customers: {dict(sorted(self.customers.items()))}",
            f"orders: {dict(sorted(self.orders.items()))}",
            f"pages read: {self.pages}",
        ]


def read_customers(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


def history_order(app: str, wire: HistoryOrderWire) -> Order:
    """A legacy wire order as the canonical order of a history row: the legacy order mapping
    read backwards (mappings/legacy/order.py); a ValueError when it is not a legacy order."""
    return ORDER_FROM_WIRE.apply(wire, app=app)


class Backfill:
    def __init__(
        self,
        app: AppConfig,
        session: aiohttp.ClientSession,
        history: HistoryStore,
        page_size: int = 100,
    ) -> None:
        if app.legacy_base_url is None:
            raise BackfillError(f"app {app.name!r} has no legacy_base_url")
        self._app = app
        self._base = f"{app.legacy_base_url}/priv/v1/apps/{quote(app.api_key, safe='')}"
        self._session = session
        self._history = history
        self._page_size = page_size
        self._auth = {
            "Authorization": aiohttp.encode_basic_auth(
                app.api_key, app.api_secret.get_secret_value()
            )
        }
        self.summary = Summary()

    async def run(
        self, customers: Iterable[str], done: set[str], checkpoint: IO[str], show_progress: bool
    ) -> Summary:
        """Backfill every customer not in `done`, appending each finished one to `checkpoint`."""
        todo = list(customers)
        with tqdm(total=len(todo), unit="customer", disable=not show_progress) as bar:
            for customer in todo:
                if customer in done:
                    self.summary.customers["already_done"] += 1
                else:
                    outcome = await self.customer(customer)
                    self.summary.customers[outcome.value] += 1
                    checkpoint.write(customer + "\n")
                    checkpoint.flush()
                    done.add(customer)
                bar.update(1)
                bar.set_postfix(self.summary.orders)
        return self.summary

    async def customer(self, customer: str) -> Outcome:
        """Record every legacy order of one customer."""
        if customer.startswith(EXTERNAL_PREFIX):
            path = f"external/users/{quote(customer.removeprefix(EXTERNAL_PREFIX), safe='')}"
        else:
            path = f"users/{quote(customer, safe='')}"
        page = 1
        while True:
            orders = await self._page(path, page)
            if orders is None:
                return Outcome.UNKNOWN_CUSTOMER
            for raw in orders:
                self.summary.orders[await self._record(raw)] += 1
            if len(orders) < self._page_size:
                return Outcome.DONE
            page += 1

    async def _record(self, raw: object) -> str:
        """Record one listed order; the outcome (`inserted`, ..., or `invalid`) is counted."""
        try:
            order = history_order(self._app.name, HistoryOrderWire.model_validate(raw))
        except (ValidationError, ValueError):
            return INVALID
        recorded: Recorded = await self._history.record(order)
        return recorded.value

    async def _page(self, path: str, page: int) -> list[object] | None:
        """One page of a customer's orders; None when legacy does not know the customer."""
        url = f"{self._base}/{path}/orders"
        query = {"limit": str(self._page_size), "page": str(page)}
        try:
            async with self._session.get(url, params=query, headers=self._auth) as answer:
                status, body = answer.status, await answer.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise BackfillError(f"legacy did not answer for {path}: {exc!r}") from exc
        self.summary.pages += 1
        document = _json(body)
        if document.get("status") == "ok" and isinstance(document.get("orders"), list):
            orders: list[object] = document["orders"]
            return orders
        errors = document.get("errors")
        code = errors.get("code") if isinstance(errors, dict) else None
        if code == "user_not_found":
            return None
        raise BackfillError(f"legacy answered {status} {code or body[:200]!r} for {path}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}
