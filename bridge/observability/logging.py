"""One structlog chain for the whole process: JSON lines, or a console renderer on a TTY.

The chain: context variables (request id) -> level -> formatted exception -> redaction of
personal data and secrets -> UTC timestamp -> orjson rendering to bytes. Loggers are cached on
first use, so a module-level `structlog.get_logger()` costs one bind per process.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

from bridge.observability.redaction import redact_personal_data


def processors(renderer: Any) -> list[Any]:
    """The processor chain, ending in `renderer` (redaction always runs before it)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.format_exc_info,
        redact_personal_data,
        # after redaction: a timestamp has the colons and dots that send redaction looking
        # for IP addresses, on every line, and it is never personal data
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        renderer,
    ]


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
