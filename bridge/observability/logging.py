"""One structlog chain for the whole process: JSON lines, or a console renderer on a TTY.

The chain: context variables (request id) -> level -> formatted exception -> redaction of
personal data and secrets -> UTC timestamp -> orjson rendering to bytes. Loggers are cached on
first use, so a module-level `structlog.get_logger()` costs one bind per process.

An exception is formatted as Python does (the chain, most recent call last), except that the
message of a database driver's or SQLAlchemy's exception is left out: it can quote what a
client sent (asyncpg's "invalid input for query argument $1: 'a\x00b'", PostgreSQL's "Key
(external_id)=(...) already exists"). Its type and, for SQLAlchemy, the SQL statement stay
(engines hide bound parameters: bridge/store/database.py).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from bridge.observability.redaction import redact_personal_data


def processors(renderer: Any) -> list[Any]:
    """The processor chain, ending in `renderer` (redaction always runs before it)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        format_exception,
        redact_personal_data,
        # after redaction: a timestamp has the colons and dots that send redaction looking
        # for IP addresses, on every line, and it is never personal data
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        renderer,
    ]


STORE_MODULES = ("sqlalchemy", "asyncpg", "sqlite3")
"""Exceptions from these packages are logged without their message (module docstring)."""


CAUSED = "\nThe above exception was the direct cause of the following exception:\n\n"
DURING = "\nDuring handling of the above exception, another exception occurred:\n\n"


def format_exception(
    _logger: object, _method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: `exc_info` -> `exception`, store messages left out."""
    exc_info = event_dict.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        error: BaseException | None = exc_info
    elif isinstance(exc_info, tuple):
        error = exc_info[1]
    else:
        error = sys.exc_info()[1] if exc_info else None
    if error is not None:
        event_dict["exception"] = "".join(_formatted_chain(error))
    return event_dict


def _formatted_chain(error: BaseException) -> list[str]:
    """The exception and its causes, oldest first, as Python prints them."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    lines: list[str] = []
    previous: BaseException | None = None
    for item in reversed(chain):
        if previous is not None:
            lines.append(CAUSED if item.__cause__ is previous else DURING)
        previous = item
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(item.__traceback__))
        lines.append(f"{_qualified_name(item)}: {_message(item)}\n")
    return lines


def _qualified_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _message(error: BaseException) -> str:
    if not type(error).__module__.startswith(STORE_MODULES):
        return str(error)
    statement = getattr(error, "statement", None)
    return "[message hidden]" + (f" [SQL: {statement}]" if statement else "")


def configure_logging(
    log_format: str = "auto",
    level: str = "info",
    *,
    stream: Any = None,
    cache_loggers: bool = True,
) -> None:
    """Configure structlog once, at start-up (called by the CLI, never at import).

    `stream` (default stdout) receives the lines: bytes for JSON, text for the console.
    Tests pass their own stream and `cache_loggers=False` so later tests can reconfigure.
    """
    console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if console
        else structlog.processors.JSONRenderer(serializer=orjson.dumps)
    )
    factory: Any = (
        structlog.PrintLoggerFactory(file=stream)
        if console
        else structlog.BytesLoggerFactory(file=stream)
    )
    structlog.configure(
        processors=processors(renderer),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=factory,
        cache_logger_on_first_use=cache_loggers,
    )
