"""canary: the automated canary's plans, decisions (the audit) and cohort samples

Where each analysed canary's plan stands (shared by every replica), every decision with its
reason and figures, and the replicas' per-flush cohort aggregates (bridge/canary/store.py).

Revision ID: 0009_canary
Revises: 0008_place_order_function
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_canary"
down_revision = "0008_place_order_function"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "canary_plans",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step_started_at", Stamp, nullable=False),
        sa.Column("decided_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("app", "operation", name=op.f("pk_canary_plans")),
    )
    op.create_table(
        "canary_decisions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("from_percent", sa.Float(), nullable=False),
        sa.Column("to_percent", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canary_decisions")),
    )
    op.create_index("ix_canary_decisions_scope", "canary_decisions", ["app", "operation", "at"])
    op.create_table(
        "canary_samples",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("cohort", sa.String(length=8), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("step_started_at", Stamp, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "cohort IN ('canary', 'baseline')", name=op.f("ck_canary_samples_cohort_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canary_samples")),
    )
    op.create_index(
        "ix_canary_samples_scope", "canary_samples", ["app", "operation", "step_started_at"]
    )
    op.create_index("ix_canary_samples_at", "canary_samples", ["at"])


def downgrade() -> None:
    op.drop_index("ix_canary_samples_at", table_name="canary_samples")
    op.drop_index("ix_canary_samples_scope", table_name="canary_samples")
    op.drop_table("canary_samples")
    op.drop_index("ix_canary_decisions_scope", table_name="canary_decisions")
    op.drop_table("canary_decisions")
    op.drop_table("canary_plans")
