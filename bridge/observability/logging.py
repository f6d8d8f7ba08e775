"""One structlog chain for the whole process: JSON lines, or a console renderer on a TTY.

The chain: context variables (request id) -> level -> formatted exception -> redaction of
personal data and secrets -> UTC timestamp -> orjson rendering to bytes. Loggers are cached on
first use, so a module-level `structlog.get_logger()` costs one bind per process.

The canonical line of every legacy call (`write_line`) has fixed keys and values from small
vocabularies, so when the JSON chain is the one configured it is written straight to that
chain's stream: the same bytes in the same key order (the request id redacted, the level, the
timestamp), without the chain's per-line machinery. Whenever structlog is configured otherwise
(the console renderer, a test's `structlog.testing.capture_logs`) it goes through structlog.

An exception is formatted as Python does (the chain, most recent call last), except that the
message of a database driver's or SQLAlchemy's exception is left out: it can quote what a
client sent (asyncpg's "invalid input for query argument $1: 'a\x00b'", PostgreSQL's "Key
(external_id)=(...) already exists"). Its type and, for SQLAlchemy, the SQL statement stay
(engines hide bound parameters: bridge/store/database.py).
"""

from __future__ import annotations

import datetime
import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, BinaryIO

import orjson
import structlog

from bridge.observability.redaction import redact_personal_data, redact_text

LEVELS = {name.lower(): number for name, number in logging.getLevelNamesMapping().items()}
LINE_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
"""A UTC datetime rendered as TimeStamper(fmt="iso", utc=True) writes it; BytesLogger's newline."""

log = structlog.get_logger()


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
    global _json_output
    _json_output = None if console else JsonOutput(renderer, level, stream)
    structlog.configure(
        processors=processors(renderer),
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level.lower()]),
        logger_factory=factory,
        cache_logger_on_first_use=cache_loggers,
    )


class JsonOutput:
    """Where the configured JSON chain writes, for the lines written straight to it."""

    __slots__ = ("level", "renderer", "stream")

    def __init__(self, renderer: Any, level: str, stream: BinaryIO | None) -> None:
        self.renderer = renderer
        """The chain's last processor: while structlog ends in it, the chain is in charge."""
        self.level = LEVELS[level.lower()]
        self.stream = stream
        """None: the standard output of the moment, as for structlog's BytesLogger."""

    def write(self, line: bytes) -> None:
        stream = self.stream or sys.stdout.buffer
        stream.write(line)
        stream.flush()


_json_output: JsonOutput | None = None


def write_line(level: str, event: str, fields: dict[str, Any], request_id: str) -> None:
    """Log the canonical line as the chain would, `request_id` being the one bound in the
    context: straight to the JSON chain's stream when it is configured (module docstring),
    through structlog otherwise.

    Straight, only the request id (the client's) is redacted: `event`, the keys of `fields`
    and their values (the bridge's vocabularies, numbers, configured app names) are nothing
    the redaction masks (tests/observability/test_request_line.py holds them to it). The line
    is built in `fields`."""
    output = _json_output
    chain = structlog.get_config()["processors"]
    if output is None or not chain or chain[-1] is not output.renderer:
        getattr(log, level)(event, **fields)
        return
    if LEVELS[level] < output.level:
        return
    fields["event"] = event
    fields["request_id"] = redact_text(request_id)
    fields["level"] = level
    fields["timestamp"] = datetime.datetime.now(datetime.UTC)
    output.write(orjson.dumps(fields, option=LINE_OPTIONS))
