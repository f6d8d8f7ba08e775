"""Legacy list-orders query string -> canonical OrderFilter.

Routes: GET .../users/{user_id}/orders and the external/users variant.

Quirks handled:
- `limit` defaults to 50 (at most 200 here: a decision, the seed gives no bound) and `page`
  to 1; both must be positive integers (ASCII digits, JSON whitespace around them allowed).
- A parameter sent blank (`?limit=`, `?page=%20`, `?after=`) is not given, the rule of every
  request body (`wire.py`, docs/clients.md): clients that build a query from optional values
  send an empty one for "none".
- `between` is two comma-separated dates; `before` and `after` one date each (the seed's
  text for `after` says "before": read as a typo). All bounds are exclusive, except that a
  date without a time as the upper end of `between` covers that whole day.
- Dates are `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or ISO 8601; without a zone they are UTC,
  with one they are converted to UTC (the store compares UTC wall-clock times).
- Numbers are ASCII digits only: `int()` would accept other Unicode digits, or fail on some.
- A date whose conversion to UTC leaves the calendar (`0001-01-01T00:00:00+01:00`,
  `9999-12-31T23:59:59-01:00`) is refused like a malformed one, never a crash.
- `page` and `limit` are range-checked before any store sees them: the rows skipped,
  `(page - 1) * limit`, must fit a signed 32-bit integer (`MAX_OFFSET`; PostgreSQL's driver
  sends OFFSET as int4), which no real history reaches.
- Anything malformed is `argument_error` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from bridge.canonical import ErrorCode, OrderFilter
from bridge.errors import RequestError
from mappings.legacy.wire import DIGITS, JSON_WHITESPACE

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 2**31 - 1
"""The most rows a page may skip: the largest signed 32-bit integer."""


def order_filter_from_query(sent: Mapping[str, str]) -> OrderFilter:
    query = {name: value for name, value in sent.items() if value.strip(JSON_WHITESPACE)}
    after, before = None, None
    if "between" in query:
        parts = query["between"].split(",")
        if len(parts) != 2:
            _fail("between", "must be two comma-separated dates")
        after = _shifted("between", _date("between", parts[0]), -timedelta(microseconds=1))
        before = _date("between", parts[1])
        if _is_date_only(parts[1]):
            before = _shifted("between", before, timedelta(days=1))
    if "after" in query:
        after = _latest(after, _date("after", query["after"]))
    if "before" in query:
        bound = _date("before", query["before"])
        before = bound if before is None else min(before, bound)
    limit = _positive("limit", query.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    return OrderFilter(
        limit=limit,
        page=_positive("page", query.get("page"), 1, MAX_OFFSET // limit + 1),
        created_after=after,
        created_before=before,
    )


def _latest(current: datetime | None, bound: datetime) -> datetime:
    return bound if current is None else max(current, bound)


def _positive(name: str, raw: str | None, default: int, maximum: int | None) -> int:
    if raw is None:
        return default
    digits = raw.strip(JSON_WHITESPACE)
    if not DIGITS.fullmatch(digits) or len(digits) > 9 or int(digits) < 1:
        _fail(name, "must be a positive integer")
    value = int(digits)
    if maximum is not None and value > maximum:
        _fail(name, f"must be at most {maximum}")
    return value


def _is_date_only(raw: str) -> bool:
    return len(raw.strip()) == len("YYYY-MM-DD")


def _date(name: str, raw: str) -> datetime:
    text = raw.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(name, f"has a malformed date {text[:40]!r}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # the zone moves it before year 1 or after year 9999
        _fail(name, "has a date out of range")


def _shifted(name: str, moment: datetime, delta: timedelta) -> datetime:
    """Move a bound; a date at the very edge of the calendar is refused, not a crash."""
    try:
        return moment + delta
    except OverflowError:
        _fail(name, "has a date out of range")


def _fail(name: str, reason: str) -> NoReturn:
    raise RequestError(ErrorCode.ARGUMENT_ERROR, f"{name} {reason}.", field=name)
