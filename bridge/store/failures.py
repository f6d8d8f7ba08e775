"""What a store failure means for the caller: the store out of reach, or a value it refused.

The executors run on the raw drivers (bridge/store/executor.py), so these read the drivers'
own exceptions: sqlite3's and asyncpg's. The error middleware answers the first
`not_available` (503) and the second the client's `argument_error`.
"""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

DATA_EXCEPTION = "22"
"""SQLSTATE class 22, "data exception": a NUL in text, a number out of its column's range."""


def unreachable(exc: BaseException) -> bool:
    """The store could not be reached (refused, timed out, dropped), not a bad statement."""
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, ValueError)


def refusal_of(exc: BaseException) -> bool:
    """The store refused a value: SQLSTATE class 22 on PostgreSQL, or asyncpg's own refusal
    to encode an argument (a ValueError), or sqlite3's DataError."""
    if isinstance(exc, sqlite3.DataError):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError):
        return True
    return isinstance(exc, asyncpg.PostgresError) and str(exc.sqlstate or "").startswith(
        DATA_EXCEPTION
    )
