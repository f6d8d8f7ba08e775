"""shadow diffs: comparisons, field differences and masked samples of the shadow runner

Revision ID: 0003_shadow_diffs
Revises: 0002
Create Date: 2026-11-25 22:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_shadow_diffs"
down_revision = "0002"
branch_labels = None
depends_on = None

ShadowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _scope_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", ShadowId, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "shadow_comparisons",
        *_scope_columns(),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("unmapped_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('shadow', 'calibration')", name=op.f("ck_shadow_comparisons_mode_known")
        ),
        sa.CheckConstraint(
            "result IN ('match', 'mismatch', 'error')",
            name=op.f("ck_shadow_comparisons_result_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_comparisons")),
    )
    op.create_table(
        "shadow_differences",
        *_scope_columns(),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_differences")),
    )
    op.create_table(
        "shadow_samples",
        *_scope_columns(),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("primary_value", sa.Text(), nullable=False),
        sa.Column("candidate_value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_samples")),
    )
    for table in ("shadow_comparisons", "shadow_differences"):
        op.create_index(f"ix_{table}_scope", table, ["app", "operation", "mode", "created_at"])
        op.create_index(f"ix_{table}_created_at", table, ["created_at"])
    op.create_index(
        "ix_shadow_samples_scope", "shadow_samples", ["app", "operation", "mode", "path"]
    )
    op.create_index("ix_shadow_samples_created_at", "shadow_samples", ["created_at"])


def downgrade() -> None:
    for table in ("shadow_samples", "shadow_differences", "shadow_comparisons"):
        op.drop_index(f"ix_{table}_created_at", table_name=table)
        op.drop_index(f"ix_{table}_scope", table_name=table)
        op.drop_table(table)
