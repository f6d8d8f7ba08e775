"""PostgreSQL: bridge_place_order() tells its two refusals apart (BR001 points, BR003 stock)

Migration 0008's function raised BR001 both when the customer's points did not cover the
order and when the offer had no stock (or was no longer active); the store can then only tell
the two refusals apart by their message. This revision is the same function with the stock
refusal under its own SQLSTATE, BR003, so bridge/store/pg_placement.py raises the domain
errors `InsufficientPoints` and `OutOfStock` from the SQLSTATE alone. The function text is
0008's (read from its file, not copied), with that one line changed; downgrade restores it.

Revision ID: 0011_place_order_refusals
Revises: 0010_reconcile_runs
Create Date: 2026-12-05 05:00:00
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0011_place_order_refusals"
down_revision = "0010_reconcile_runs"
branch_labels = None
depends_on = None

STOCK_REFUSAL = "RAISE EXCEPTION USING ERRCODE = '{}', MESSAGE = 'The reward is out of stock.';"


def _revision_0008() -> ModuleType:
    path = Path(__file__).with_name("0008_place_order_function.py")
    spec = importlib.util.spec_from_file_location("place_order_function_0008", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(stock_sqlstate: str) -> str:
    function: str = _revision_0008().FUNCTION
    old = STOCK_REFUSAL.format("BR001")
    assert function.count(old) == 1, "0008's stock refusal is not where this revision expects"
    return function.replace(old, STOCK_REFUSAL.format(stock_sqlstate))


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_function("BR003"))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_function("BR001"))
