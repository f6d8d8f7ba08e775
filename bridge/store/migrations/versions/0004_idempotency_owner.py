"""idempotency keys: the owner of a claim, so that only the request holding it settles it

Revision ID: 0004_idempotency_owner
Revises: 0003_shadow_diffs
Create Date: 2026-11-25 22:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_idempotency_owner"
down_revision = "0003_shadow_diffs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("owner")
