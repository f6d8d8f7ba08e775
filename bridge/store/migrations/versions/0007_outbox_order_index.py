"""outbox: an index on (order_id, kind)

Every Incentives purchase now queues its `undo_purchase` job with its ledger row and cancels
it when the purchase is confirmed or discarded (bridge/store/remote_orders.py); a rejection
does the same with `finish_reject`. The cancel finds the job by order and kind, so that
lookup must not scan the whole outbox.

Revision ID: 0007_outbox_order_index
Revises: 0006_shadow_pairs
Create Date: 2026-12-05 02:00:00
"""

from alembic import op

revision = "0007_outbox_order_index"
down_revision = "0006_shadow_pairs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_order_kind", "outbox", ["order_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_outbox_order_kind", table_name="outbox")
