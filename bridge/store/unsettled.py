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

Key = tuple[str, str]
"""(app, customer id)."""

RESCAN_SECONDS = 5.0


class UnsettledIndex:
    def __init__(
        self, rescan_seconds: float = RESCAN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rescan_seconds = rescan_seconds
        self._clock = clock
        self._rows: dict[Key, set[int]] = {}
        self._scanned_at: float | None = None

    def stale(self) -> bool:
        """Whether it must be filled from a scan before it is asked."""
        return self._scanned_at is None or self._clock() - self._scanned_at >= self._rescan_seconds

    def replace(self, rows: Iterable[tuple[str, str, int]], opened_meanwhile: set[int]) -> None:
        """The scan's (app, customer, order id) rows, keeping those opened during the scan."""
        fresh: dict[Key, set[int]] = {}
        for app, customer, order_id in rows:
            fresh.setdefault((app, customer), set()).add(order_id)
        for key, ids in self._rows.items():
            if ids & opened_meanwhile:
                fresh.setdefault(key, set()).update(ids & opened_meanwhile)
        self._rows = fresh
        self._scanned_at = self._clock()

    def may_have(self, app: str, customer: str) -> bool:
        return (app, customer) in self._rows

    def opened(self, app: str, customer: str, order_id: int) -> None:
        self._rows.setdefault((app, customer), set()).add(order_id)

    def settled(self, app: str, customer: str, order_id: int) -> None:
        ids = self._rows.get((app, customer))
        if ids is not None:
            ids.discard(order_id)
            if not ids:
                del self._rows[(app, customer)]

    def listed(self, app: str, customer: str) -> frozenset[int]:
        return frozenset(self._rows.get((app, customer), ()))

    def found(
        self, app: str, customer: str, order_ids: Iterable[int], before: frozenset[int]
    ) -> None:
        """What a lookup of the customer read from the ledger (the exact rows), keeping the
        rows opened since the lookup began (`before`: what was listed then)."""
        ids = set(order_ids) | (self.listed(app, customer) - before)
        if ids:
            self._rows[(app, customer)] = ids
        else:
            self._rows.pop((app, customer), None)
