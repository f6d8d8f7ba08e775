"""orders: a partial index of the rows whose upstream outcome is unknown

The Incentives backend scans them (bridge/store/remote_orders.py) every few seconds, so that a
call naming a customer with none of them can skip the lookup.

Revision ID: 0005_orders_unsettled_index
Revises: 0004_idempotency_owner
Create Date: 2026-11-26 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_orders_unsettled_index"
down_revision = "0004_idempotency_owner"
branch_labels = None
depends_on = None

UNSETTLED = sa.text("backend_ref IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_orders_unsettled",
        "orders",
        ["target"],
        sqlite_where=UNSETTLED,
        postgresql_where=UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_unsettled", table_name="orders")
