"""shadow: order id pairs (primary id -> shadow id), and the not_comparable outcome

A shadowed create records which order the shadow side made for the primary's order, so later
shadowed calls naming that order are sent with the shadow's id and compared through the pair
(docs/shadowing.md "Order ids"). A comparison may now also be `not_comparable`: the shadow side
never saw the order, or the primary itself failed.

Revision ID: 0006_shadow_pairs
Revises: 0005_orders_unsettled_index
Create Date: 2026-12-05 01:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_shadow_pairs"
down_revision = "0005_orders_unsettled_index"
branch_labels = None
depends_on = None

ShadowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RESULTS_BEFORE = "result IN ('match', 'mismatch', 'error')"
RESULTS_AFTER = "result IN ('match', 'mismatch', 'error', 'not_comparable')"
CONSTRAINT = "ck_shadow_comparisons_result_known"


def _comparisons(check: str) -> sa.Table:
    """shadow_comparisons as 0003 made it, with `check` on result (SQLite's copy source)."""
    return sa.Table(
        "shadow_comparisons",
        sa.MetaData(),
        sa.Column("id", ShadowId, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("unmapped_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "mode IN ('shadow', 'calibration')", name="ck_shadow_comparisons_mode_known"
        ),
        sa.CheckConstraint(check, name=CONSTRAINT),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_comparisons"),
    )


def _results(check: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table(
            "shadow_comparisons", recreate="always", copy_from=_comparisons(check)
        ):
            pass
        for name, columns in (
            ("ix_shadow_comparisons_scope", ["app", "operation", "mode", "created_at"]),
            ("ix_shadow_comparisons_created_at", ["created_at"]),
        ):
            op.create_index(name, "shadow_comparisons", columns, if_not_exists=True)
        return
    op.drop_constraint(op.f(CONSTRAINT), "shadow_comparisons", type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "shadow_comparisons", sa.text(check))


def upgrade() -> None:
    op.create_table(
        "shadow_id_pairs",
        sa.Column("id", ShadowId, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("primary_target", sa.String(length=16), nullable=False),
        sa.Column("shadow_target", sa.String(length=16), nullable=False),
        sa.Column("primary_id", sa.String(length=64), nullable=False),
        sa.Column("shadow_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_id_pairs")),
        sa.UniqueConstraint(
            "app",
            "primary_target",
            "shadow_target",
            "primary_id",
            name=op.f("uq_shadow_id_pairs_primary"),
        ),
    )
    op.create_index(
        "ix_shadow_id_pairs_shadow",
        "shadow_id_pairs",
        ["app", "primary_target", "shadow_target", "shadow_id"],
    )
    op.create_index("ix_shadow_id_pairs_created_at", "shadow_id_pairs", ["created_at"])
    _results(RESULTS_AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM shadow_comparisons WHERE result = 'not_comparable'"))
    _results(RESULTS_BEFORE)
    op.drop_index("ix_shadow_id_pairs_created_at", table_name="shadow_id_pairs")
    op.drop_index("ix_shadow_id_pairs_shadow", table_name="shadow_id_pairs")
    op.drop_table("shadow_id_pairs")
