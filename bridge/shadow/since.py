"""`since`, read one way by `orders-bridge shadow report --since` and `GET /_bridge/shadow`.

Accepted: a span back from now (`30s`, `10m`, `6h`, `7d`, `2w`), or an ISO date or date-time
(UTC when it names no zone). Anything else, and any value whose moment cannot be represented
(a span reaching before year 1, a date-time at the calendar's edge whose zone pushes it past
it), is a ValueError with a message that names the accepted forms and not the value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

SPAN = re.compile(r"([0-9]{1,12})([smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FORMS = "a date (2026-03-01), a date-time (2026-03-01T12:00:00Z) or a span (30s, 10m, 6h, 7d, 2w)"


class SinceError(ValueError):
    """`since` is malformed or out of range."""


def parse_since(raw: str, now: datetime) -> datetime:
    text = raw.strip()
    span = SPAN.fullmatch(text)
    try:
        if span is not None:
            return now - timedelta(**{UNITS[span.group(2)]: int(span.group(1))})
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise SinceError(f"since reaches beyond the calendar; give {FORMS}") from exc
    except ValueError as exc:
        raise SinceError(f"since is not {FORMS}") from exc
