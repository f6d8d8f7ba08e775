"""Which customers may have Incentives purchases whose outcome is unknown (per process).

Before every call naming a customer, the Incentives backend settles that customer's purchases
left unknown by an earlier call (bridge/backends/incentives.py). Such rows are rare, and
looking for them cost a ledger read on every get, list and create. This index answers "none
here" from memory, so the read is made only for a customer who may have some:

- a full scan of the unknown rows (a partial index keeps it small) fills it when first asked
  and again every `rescan_seconds`, which picks up rows left by another worker or by a
  process that stopped;
- this process adds each row it opens and drops it when it confirms or discards it;
- a lookup for a listed customer reads the exact rows and corrects the entry.

With one process the index is exact. With several, a row another process left unknown is
settled by the next call naming its customer after at most `rescan_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

Key = tuple[str, str]
"""(app, customer id)."""
Row = tuple[str, str, int, datetime | None]
"""(app, customer id, order id, created at)."""

RESCAN_SECONDS = 5.0


class UnsettledIndex:
    def __init__(
        self, rescan_seconds: float = RESCAN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rescan_seconds = rescan_seconds
        self._clock = clock
        self._rows: dict[Key, dict[int, datetime | None]] = {}
        """The listed orders of each customer, with their creation time where known."""
        self._scanned_at: float | None = None

    def stale(self) -> bool:
        """Whether it must be filled from a scan before it is asked."""
        return self._scanned_at is None or self._clock() - self._scanned_at >= self._rescan_seconds

    def replace(self, rows: Iterable[Row], opened_meanwhile: set[int]) -> None:
        """The scan's (app, customer, order id, created at) rows, keeping those opened during
        the scan."""
        fresh: dict[Key, dict[int, datetime | None]] = {}
        for app, customer, order_id, created_at in rows:
            fresh.setdefault((app, customer), {})[order_id] = created_at
        for key, orders in self._rows.items():
            for order_id in orders.keys() & opened_meanwhile:
                fresh.setdefault(key, {})[order_id] = orders[order_id]
        self._rows = fresh
        self._scanned_at = self._clock()

    def may_have(self, app: str, customer: str, created_before: datetime | None = None) -> bool:
        """Whether the customer may have such rows (created before `created_before`, if given:
        younger ones belong to calls still in flight, which settle them themselves)."""
        orders = self._rows.get((app, customer))
        if not orders:
            return False
        if created_before is None:
            return True
        return any(at is None or at <= created_before for at in orders.values())

    def opened(
        self, app: str, customer: str, order_id: int, created_at: datetime | None = None
    ) -> None:
        self._rows.setdefault((app, customer), {})[order_id] = created_at

    def settled(self, app: str, customer: str, order_id: int) -> None:
        orders = self._rows.get((app, customer))
        if orders is not None:
            orders.pop(order_id, None)
            if not orders:
                del self._rows[(app, customer)]

    def listed(self, app: str, customer: str) -> frozenset[int]:
        return frozenset(self._rows.get((app, customer), ()))

    def found(
        self,
        app: str,
        customer: str,
        rows: Iterable[tuple[int, datetime | None]],
        before: frozenset[int],
    ) -> None:
        """What a lookup of the customer read from the ledger (the exact (id, created at)
        rows), keeping the rows opened since the lookup began (`before`: listed then)."""
        current = self._rows.get((app, customer), {})
        orders = dict(rows)
        orders.update({key: at for key, at in current.items() if key not in before})
        if orders:
            self._rows[(app, customer)] = orders
        else:
            self._rows.pop((app, customer), None)
