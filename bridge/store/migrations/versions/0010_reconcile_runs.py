"""reconcile_runs: each `orders-bridge reconcile` run's drift count, per app

The automated canary's `reconcile_drift` limit reads the app's last run from here (every
replica shares it); the rows are also the runs' record (bridge/store/reconcile_runs.py).

Revision ID: 0010_reconcile_runs
Revises: 0009_canary
Create Date: 2026-12-05 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_reconcile_runs"
down_revision = "0009_canary"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("drift", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )
    op.create_index("ix_reconcile_runs_app", "reconcile_runs", ["app", "at"])


def downgrade() -> None:
    op.drop_index("ix_reconcile_runs_app", table_name="reconcile_runs")
    op.drop_table("reconcile_runs")
