"""outbox: an index on (status, kind, next_attempt_at) for a sender that handles some kinds

A sender claims and counts only the kinds it has a handler for (`kind IN (...)`). With only
`ix_outbox_due (status, next_attempt_at)`, both walked every pending row of every kind: a
replica without SMTP left each order's fulfilment email pending, and after 16,000 orders its
outbox-depth count took 4-12 ms on the event loop on every sender round (docs/performance.md).
With this index both read only the rows of their kinds.

Revision ID: 0012_outbox_status_kind
Revises: 0011_place_order_refusals
Create Date: 2026-12-05 08:45:00
"""

from alembic import op

revision = "0012_outbox_status_kind"
down_revision = "0011_place_order_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_status_kind", "outbox", ["status", "kind", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_kind", table_name="outbox")
