"""SQLAlchemy Core statements compiled once per engine into the raw driver's SQL.

The store writes its statements with SQLAlchemy Core (the schema lives in `tables.py`), and
runs them on the raw drivers (bridge/store/executor.py). `Query(statement)` compiles a
statement the first time an engine runs it and keeps, per engine:

- the SQL text in the driver's parameter style (`?` for sqlite3, `$1` for asyncpg) and the
  order of its parameters;
- the values bound in the statement itself (`t.orders.c.app == "demo"`);
- SQLite only: SQLAlchemy's own type conversions of each parameter and result column (its
  SQLite date-time text format, booleans as integers, JSON as text), so that rows written
  by either path read the same. asyncpg converts PostgreSQL's types itself (JSON by the codec
  the executor installs).

A statement built per call (cold paths: data loading, key rotation, the outbox claim) is
compiled per call, the same way; the hot paths keep a module-level `Query`.
An INSERT is compiled for the exact columns it is given, so a column left out takes its
database default (the id sequence on PostgreSQL).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    """One statement for one engine: the SQL, how to order and convert its parameters, and
    how to build its rows."""

    sql: str
    names: tuple[str, ...]
    literals: Mapping[str, Any]
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(position, conversion) of the parameters that have one (SQLite)."""
    row: Callable[[Sequence[Any]], Any] | None
    """Builds a row (attribute access by column name, SQLite's conversions applied)."""

    def args(self, params: Params | None) -> list[Any]:
        values = self.literals if not params else {**self.literals, **params}
        ordered = [values[name] for name in self.names]
        for index, process in self.processed:
            ordered[index] = process(ordered[index])
        return ordered


class Query:
    """A statement compiled on first use per engine (and per INSERT column set)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...] | None], Compiled] = {}

    def compiled(self, engine: str, params: Params | None) -> Compiled:
        keys = _insert_keys(self.statement, params)
        found = self._compiled.get((engine, keys))
        if found is None:
            found = self._compiled[(engine, keys)] = compile_statement(self.statement, engine, keys)
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
    return Compiled(
        sql=compiled.string,
        names=names,
        literals=literals,
        processed=tuple((i, p) for i, p in enumerate(processors) if p is not None),
        row=_row_factory(statement, dialect, sqlite),
    )


def _bind_processor(type_: Any, dialect: sa.Dialect) -> Processor:
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


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
