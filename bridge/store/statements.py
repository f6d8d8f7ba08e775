"""SQLAlchemy Core statements compiled once per engine into the raw driver's SQL.

The store writes its statements with SQLAlchemy Core (the schema lives in `tables.py`), and
runs them on the raw drivers (bridge/store/executor.py). `Query(statement)` compiles a
statement the first time an engine runs it and keeps, per engine:

- the SQL text in the driver's parameter style (`?` for sqlite3, `$1` for asyncpg);
- a binder that turns a call's parameters into the driver's, built once: the values in the
  statement's order (one `itemgetter`), under them the values bound in the statement itself
  (`t.orders.c.app == "demo"`), and on SQLite SQLAlchemy's own type conversions of each
  parameter and result column (its SQLite date-time text format, booleans as integers, JSON
  as text), so that rows written by either path read the same. A plain `DateTime` is
  written by `_sqlite_datetime`, the same text as SQLAlchemy's processor at half its cost
  (tests/store/test_statements.py compares them). asyncpg converts PostgreSQL's types itself
  (JSON by the codec the executor installs).

A statement built per call (cold paths: data loading, key rotation, the outbox claim) is
compiled per call, the same way; the hot paths keep a module-level `Query`.
An INSERT is compiled for the exact columns it is given, so a column left out takes its
database default (the id sequence on PostgreSQL); a `Query` finds it by the columns in the
order its caller gives them, without sorting them per call.
"""

from __future__ import annotations

import operator
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.dialects.sqlite import pysqlite

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

DIALECTS: dict[str, sa.Dialect] = {
    SQLITE: pysqlite.dialect(paramstyle="qmark"),
    POSTGRESQL: pg_asyncpg.dialect(),  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
}
Processor = Callable[[Any], Any] | None
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Compiled:
    """One statement for one engine: the SQL, its parameters' binder and how to build its
    rows."""

    sql: str
    args: Callable[[Params | None], Sequence[Any]]
    """The driver's parameters, in order and converted (`_binder`)."""
    row: Callable[[Sequence[Any]], Any] | None
    """Builds a row (attribute access by column name, SQLite's conversions applied)."""


class Query:
    """A statement compiled on first use per engine (and per INSERT column set)."""

    __slots__ = ("_compiled", "_insert", "statement")

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._insert = isinstance(statement, sa.Insert)
        self._compiled: dict[tuple[str, tuple[str, ...] | None], Compiled] = {}

    def compiled(self, engine: str, params: Params | None) -> Compiled:
        # an INSERT's columns in the order its caller wrote them: one lookup, no sort
        keys = tuple(params) if self._insert and params is not None else None
        found = self._compiled.get((engine, keys))
        if found is None:
            sorted_keys = _insert_keys(self.statement, params)
            found = self._compiled.get((engine, sorted_keys))
            if found is None:
                found = compile_statement(self.statement, engine, sorted_keys)
                self._compiled[(engine, sorted_keys)] = found
            self._compiled[(engine, keys)] = found
        return found


def compiled_for(statement: Query | sa.Executable, engine: str, params: Params | None) -> Compiled:
    if isinstance(statement, Query):
        return statement.compiled(engine, params)
    return compile_statement(statement, engine, _insert_keys(statement, params))


def _insert_keys(statement: Any, params: Params | None) -> tuple[str, ...] | None:
    if isinstance(statement, sa.Insert) and params is not None:
        return tuple(sorted(params))
    return None


def compile_statement(
    statement: Any, engine: str, column_keys: tuple[str, ...] | None = None
) -> Compiled:
    dialect = DIALECTS[engine]
    keys = list(column_keys) if column_keys is not None else None
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    expanding = "__[POSTCOMPILE_" in compiled.string
    if expanding:  # an IN list: render one parameter per value (its values are in the statement)
        kwargs = {"render_postcompile": True}
        compiled = statement.compile(dialect=dialect, column_keys=keys, compile_kwargs=kwargs)
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    literals = {
        name: bind.effective_value
        for name, bind in binds.items()
        if not bind.required and name in names
    }
    if expanding:
        literals = {name: compiled.params[name] for name in names}
    sqlite = engine == SQLITE
    processors = tuple(
        _bind_processor(binds[name].type, dialect) if sqlite and name in binds else None
        for name in names
    )
    processed = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    return Compiled(
        sql=compiled.string,
        args=_binder(names, literals, processed),
        row=_row_factory(statement, dialect, sqlite),
    )


def _binder(
    names: tuple[str, ...],
    literals: Mapping[str, Any],
    processed: tuple[tuple[int, Callable[[Any], Any]], ...],
) -> Callable[[Params | None], Sequence[Any]]:
    """The parameters of one compiled statement from a call's `params`: the values of
    `names` in order (the statement's own `literals` under the call's), each of the
    `processed` positions converted."""
    if not names:
        return lambda params: ()
    pick = operator.itemgetter(*names)
    single = len(names) == 1

    def args(params: Params | None) -> Sequence[Any]:
        values = {**literals, **params} if literals and params else params or literals
        picked = pick(values)
        if not processed:
            return (picked,) if single else picked
        ordered = [picked] if single else list(picked)
        for index, process in processed:
            ordered[index] = process(ordered[index])
        return ordered

    return args


def _bind_processor(type_: Any, dialect: sa.Dialect) -> Processor:
    if type(type_) is sa.DateTime:  # not a dialect's DATETIME with a storage format of its own
        return _sqlite_datetime
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_datetime(value: Any) -> str | None:
    """SQLAlchemy's SQLite DATETIME text (its default storage format: the wall clock as
    given, any time zone dropped), without building its dict per value."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _SQLITE_DATETIME % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )
    if isinstance(value, date):
        return _SQLITE_DATETIME % (value.year, value.month, value.day, 0, 0, 0, 0)
    raise TypeError("SQLite DateTime type only accepts Python datetime and date objects as input.")


def _row_factory(
    statement: Any, dialect: sa.Dialect, sqlite: bool
) -> Callable[[Sequence[Any]], Any] | None:
    columns = list(getattr(statement, "exported_columns", ()) or ())
    if not columns:
        return None
    names = [
        str(getattr(column, "key", None) or getattr(column, "name", "_")) for column in columns
    ]
    row_type: Any = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # names known at run time
    converters = (
        [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        if sqlite
        else []
    )
    pairs = tuple((i, convert) for i, convert in enumerate(converters) if convert is not None)
    if not pairs:
        return row_type._make

    def make(values: Sequence[Any]) -> Any:
        row = list(values)
        for index, convert in pairs:
            if row[index] is not None:
                row[index] = convert(row[index])
        return row_type._make(row)

    return make
