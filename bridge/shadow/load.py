"""How busy the process is: the signal the shadow runner yields to (docs/shadowing.md).

The primary and the shadow share one event loop, so one core: every microsecond a shadow
spends is one a primary call may wait for. The runner asks `busy()` before it admits a
call and again before it starts a job; while the answer is yes, shadows are shed (counted,
`bridge_shadow_dropped_total{reason="shed"}`) instead of slowing the primary.

`CpuShare` reads the process's CPU time (every thread: the loop, the SQLite writer) against
the monotonic clock: the share of one CPU the process used over the last full window of
`window_seconds`. A share at or above `limit` is busy. Both clocks are passed in, so a test
drives it without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class LoadSignal(Protocol):
    def busy(self) -> bool:
        """True while shadows should yield (be shed) to the primary."""
        ...


class CpuShare:
    def __init__(
        self,
        limit: float,
        window_seconds: float,
        cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._cpu = cpu
        self._clock = clock
        self._since = clock()
        self._used = cpu()
        self._share = 0.0

    @property
    def share(self) -> float:
        """The share of one CPU used over the last full window."""
        return self._share

    def busy(self) -> bool:
        now = self._clock()
        elapsed = now - self._since
        if elapsed >= self._window:
            used = self._cpu()
            self._share = (used - self._used) / elapsed
            self._since, self._used = now, used
        return self._share >= self._limit


class NeverBusy:
    """No load signal: shadows are never shed (`BRIDGE_SHADOW__SHED_CPU_SHARE=0`)."""

    def busy(self) -> bool:
        return False


def load_signal(limit: float, window_seconds: float) -> LoadSignal:
    """The process's CPU share against `limit`, or never busy when `limit` is 0."""
    return CpuShare(limit, window_seconds) if limit else NeverBusy()
