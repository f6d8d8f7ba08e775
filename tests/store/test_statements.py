"""The compiled statements' parameter binding: the same values, in the same text, as
SQLAlchemy's own conversions (bridge/store/statements.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bridge.store import tables as t
from bridge.store.statements import DIALECTS, POSTGRESQL, SQLITE, Query, compile_statement


def _sqlalchemy_datetime(value: object) -> object:
    """SQLAlchemy's own SQLite DATETIME bind conversion."""
    process = sa.DateTime().dialect_impl(DIALECTS[SQLITE]).bind_processor(DIALECTS[SQLITE])
    assert process is not None
    return process(value)


MOMENTS = [
    datetime(2026, 12, 5, 6, 36, 4, 123456, tzinfo=UTC),
    datetime(2026, 12, 5, 6, 36, 4, tzinfo=UTC),  # no microseconds: still written
    datetime(2026, 12, 5, 8, 36, 4, 1, tzinfo=timezone(timedelta(hours=2))),  # wall clock kept
    datetime(2026, 1, 2, 3, 4, 5, 6),  # naive
    datetime(1, 1, 1),  # years under 1000 padded
    datetime(999, 12, 31, 23, 59, 59, 999999),
    date(2026, 12, 5),  # a date: midnight
    None,
]


@pytest.mark.parametrize("value", MOMENTS, ids=repr)
def test_a_datetime_is_written_as_sqlalchemy_writes_it(value: datetime | date | None) -> None:
    compiled = compile_statement(
        sa.select(t.orders.c.id).where(t.orders.c.created_at < sa.bindparam("at")), SQLITE
    )
    assert compiled.args({"at": value}) == [_sqlalchemy_datetime(value)]


def test_a_datetime_refuses_what_sqlalchemy_refuses() -> None:
    compiled = compile_statement(
        sa.select(t.orders.c.id).where(t.orders.c.created_at < sa.bindparam("at")), SQLITE
    )
    with pytest.raises(TypeError):
        _sqlalchemy_datetime("2026-12-05")
    with pytest.raises(TypeError):
        compiled.args({"at": "2026-12-05"})


def test_the_statements_own_values_are_bound_under_the_calls() -> None:
    query = sa.select(t.orders.c.id).where(
        t.orders.c.app == sa.bindparam("app"), t.orders.c.status == "approved"
    )
    for engine in (SQLITE, POSTGRESQL):
        compiled = compile_statement(query, engine)
        assert list(compiled.args({"app": "demo"})) == ["demo", "approved"]


def test_a_statement_without_parameters_binds_none() -> None:
    compiled = compile_statement(sa.select(sa.func.count()).select_from(t.orders), SQLITE)
    assert list(compiled.args(None)) == []
    assert list(compiled.args({})) == []


def test_an_insert_is_found_by_its_columns_in_any_order() -> None:
    query = Query(sa.insert(t.points_accounts))
    first = query.compiled(SQLITE, {"app": "demo", "customer_id": "c", "balance": 1})
    again = query.compiled(SQLITE, {"balance": 2, "customer_id": "d", "app": "demo"})
    assert again is first
    assert list(again.args({"balance": 2, "customer_id": "d", "app": "demo"})) == ["demo", "d", 2]
    fewer = query.compiled(SQLITE, {"app": "demo", "customer_id": "c"})
    assert fewer is not first
    assert "balance" not in fewer.sql
