"""A clock tests move by hand, injected through create_app(clock=...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SEED_CREATED_AT = datetime(2015, 1, 20, 13, 4, 45, tzinfo=UTC)
"""The seed examples' `created_at` ("2015-01-20 13:04:45")."""


@dataclass
class ManualClock:
    """Stands still until a test moves it."""

    current: datetime = SEED_CREATED_AT

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)
