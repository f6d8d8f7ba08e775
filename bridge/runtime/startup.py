"""The start-up error boundary: a configuration a person can put right is one line, exit 2.

`orders-bridge: invalid configuration: <file or variable>: <what>`, never a traceback and
never a value (a database URL, an apps entry or `BRIDGE_EMAIL_KEYS` may hold a secret):
- a setting that does not validate names its variable (`BRIDGE_DB_POOL_SIZE`);
- the apps file names the file (not YAML, not a mapping, an invalid app);
- the store names `BRIDGE_DATABASE_URL`: a SQLite file in a folder that does not exist, a
  database that cannot be reached or refuses the login (`check_database`).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError
from pydantic_settings import SettingsError

from bridge.settings import ConfigurationError, Settings
from bridge.store.executor import open_database, read_value

PREFIX = "BRIDGE_"
DATABASE_VARIABLE = "BRIDGE_DATABASE_URL"
CONNECT_SECONDS = 10.0
STARTUP_ERRORS = (ValidationError, SettingsError, ConfigurationError)


def load_settings() -> Settings:
    """The settings of the environment; a STARTUP_ERRORS exception when they are invalid."""
    try:
        return Settings.from_environment()
    except RecursionError as exc:  # a JSON variable (BRIDGE_APPS) nested past the parser's depth
        raise ConfigurationError("environment", "a JSON value is nested too deeply") from exc


def describe(exc: BaseException) -> str:
    """`<file or variable>: <what>` for one of STARTUP_ERRORS, without any value."""
    if isinstance(exc, ConfigurationError):
        return f"{exc.where}: {exc.what}"
    if isinstance(exc, ValidationError):
        return "; ".join(_problem(problem["loc"], problem["msg"]) for problem in _errors(exc))
    field = re.search(r'field "(\w+)"', str(exc))
    name = f"{PREFIX}{field.group(1).upper()}" if field else "environment"
    return f"{name}: cannot be parsed (a JSON value is expected)"


def _errors(exc: ValidationError) -> list[dict[str, object]]:
    problems = exc.errors(include_url=False, include_input=False, include_context=False)
    return [
        {"loc": problem["loc"], "msg": problem["msg"].removeprefix("Value error, ")}
        for problem in problems
    ]


def _problem(loc: object, message: object) -> str:
    """`BRIDGE_SMTP__PORT: Input should be ...`; the path inside a list after the variable."""
    parts = list(loc) if isinstance(loc, tuple) else []
    names: list[str] = []
    while parts and isinstance(parts[0], str):
        names.append(parts.pop(0).upper())
    variable = PREFIX + "__".join(names) if names else "settings"
    inner = ".".join(map(str, parts))
    return f"{variable}{'.' + inner if inner else ''}: {message}"


def check_database(settings: Settings) -> None:
    """Refuse (ConfigurationError) a store that cannot be used, before anything starts."""
    url = sa.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if "\x00" in url.database:
            raise ConfigurationError(DATABASE_VARIABLE, "cannot connect (a NUL in the path)")
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise ConfigurationError(DATABASE_VARIABLE, "the SQLite file's folder does not exist")
    asyncio.run(_connect(settings.database_url))


async def _connect(url: str) -> None:
    db = open_database(url)
    try:
        async with asyncio.timeout(CONNECT_SECONDS):
            await read_value(db, sa.text("SELECT 1"))
    except Exception as exc:
        # Whatever the URL makes the driver raise (a refused login, a port past 65535, a
        # query argument it does not take) is the configuration's fault: named by type
        # only, since a message may quote the URL
        reason = f"cannot connect ({type(_root(exc)).__name__})"
        raise ConfigurationError(DATABASE_VARIABLE, reason) from exc
    finally:
        await db.close()


def _root(exc: BaseException) -> BaseException:
    """The innermost cause: the driver's own error (a refused login, a refused connection)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc
