"""SQLAlchemy Core tables. Migrations in `migrations/versions` create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UtcDateTime = sa.DateTime(timezone=True)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("registered", sa.Boolean, nullable=False),
    sa.Column("email_enc", sa.Text, nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.UniqueConstraint("app", "external_id", name="uq_customers_app_external_id"),
)

points_accounts = sa.Table(
    "points_accounts",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(255), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
    sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
    sa.ForeignKeyConstraint(["app", "customer_id"], ["customers.app", "customers.id"]),
)

points_ledger = sa.Table(
    "points_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("order_id", sa.BigInteger, nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_points_ledger_customer", "app", "customer_id"),
    sa.Index("ix_points_ledger_order", "order_id"),
)

offers = sa.Table(
    "offers",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("logo", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("offer_type", sa.String(64), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("inventory", sa.BigInteger, nullable=True),
    sa.Column("physical", sa.Boolean, nullable=False),
    sa.Column("contest", sa.Boolean, nullable=False),
    sa.Column("review", sa.String(16), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.CheckConstraint("points >= 0", name="points_not_negative"),
    sa.CheckConstraint("inventory IS NULL OR inventory >= 0", name="inventory_not_negative"),
)

challenges = sa.Table(
    "challenges",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("offer_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("offer_id", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("backend_ref", sa.String(255), nullable=True),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("logo", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("offer_type", sa.String(64), nullable=False),
    sa.Column("email_enc", sa.Text, nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("shipping_address", sa.JSON, nullable=True),
    sa.Column("challenge_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("points >= 0", name="points_not_negative"),
    sa.UniqueConstraint("app", "external_id", name="uq_orders_app_external_id"),
    sa.Index("ix_orders_customer_created", "app", "customer_id", "created_at"),
    sa.Index("ix_orders_ip_created", "app", "ip", "created_at"),
    sa.Index(
        "ix_orders_unsettled",
        "target",
        sqlite_where=sa.text("backend_ref IS NULL"),
        postgresql_where=sa.text("backend_ref IS NULL"),
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("order_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_outbox_status_kind", "status", "kind", "next_attempt_at"),
    sa.Index("ix_outbox_order_kind", "order_id", "kind"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("order_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("owner", sa.String(32), nullable=True),
    sa.CheckConstraint("status IN ('in_progress', 'done')", name="status_known"),
    sa.CheckConstraint(
        "status = 'in_progress' OR (response_status IS NOT NULL AND response_body IS NOT NULL)",
        name="done_has_response",
    ),
    sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# Shadow comparisons (bridge/store/shadow_diffs.py): one row per comparison, one per field
# difference, and a bounded number of masked samples per (app, operation, mode, path).
ShadowId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

shadow_comparisons = sa.Table(
    "shadow_comparisons",
    metadata,
    sa.Column("id", ShadowId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("unmapped_code", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("mode IN ('shadow', 'calibration')", name="mode_known"),
    sa.CheckConstraint(
        "result IN ('match', 'mismatch', 'error', 'not_comparable')", name="result_known"
    ),
    sa.Index("ix_shadow_comparisons_scope", "app", "operation", "mode", "created_at"),
    sa.Index("ix_shadow_comparisons_created_at", "created_at"),
)

shadow_differences = sa.Table(
    "shadow_differences",
    metadata,
    sa.Column("id", ShadowId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_shadow_differences_scope", "app", "operation", "mode", "created_at"),
    sa.Index("ix_shadow_differences_created_at", "created_at"),
)

shadow_samples = sa.Table(
    "shadow_samples",
    metadata,
    sa.Column("id", ShadowId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("primary_value", sa.Text, nullable=False),
    sa.Column("candidate_value", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_shadow_samples_scope", "app", "operation", "mode", "path"),
    sa.Index("ix_shadow_samples_created_at", "created_at"),
)

# Order id pairs of the shadow runner (bridge/store/shadow_diffs.py): which order the shadow
# side made for a primary order, so later calls naming it are sent with the shadow's id.
shadow_id_pairs = sa.Table(
    "shadow_id_pairs",
    metadata,
    sa.Column("id", ShadowId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("primary_target", sa.String(16), nullable=False),
    sa.Column("shadow_target", sa.String(16), nullable=False),
    sa.Column("primary_id", sa.String(64), nullable=False),
    sa.Column("shadow_id", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint(
        "app", "primary_target", "shadow_target", "primary_id", name="uq_shadow_id_pairs_primary"
    ),
    sa.Index("ix_shadow_id_pairs_shadow", "app", "primary_target", "shadow_target", "shadow_id"),
    sa.Index("ix_shadow_id_pairs_created_at", "created_at"),
)


# The automated canary (bridge/canary/store.py; migration 0009)
CanaryId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

canary_plans = sa.Table(
    "canary_plans",
    metadata,
    sa.Column("app", sa.String(64), primary_key=True),
    sa.Column("operation", sa.String(32), primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("step_started_at", UtcDateTime, nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
)

canary_decisions = sa.Table(
    "canary_decisions",
    metadata,
    sa.Column("id", CanaryId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("from_percent", sa.Float, nullable=False),
    sa.Column("to_percent", sa.Float, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("figures", sa.JSON, nullable=False),
    sa.Index("ix_canary_decisions_scope", "app", "operation", "at"),
)

canary_samples = sa.Table(
    "canary_samples",
    metadata,
    sa.Column("id", CanaryId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("operation", sa.String(32), nullable=False),
    sa.Column("cohort", sa.String(8), nullable=False),
    sa.Column("replica", sa.String(128), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("step_started_at", UtcDateTime, nullable=False),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("refusals", sa.Integer, nullable=False),
    sa.Column("latency", sa.JSON, nullable=False),
    sa.CheckConstraint("cohort IN ('canary', 'baseline')", name="cohort_known"),
    sa.Index("ix_canary_samples_scope", "app", "operation", "step_started_at"),
    sa.Index("ix_canary_samples_at", "at"),
)


# Each reconcile run's drift, read by the automated canary (bridge/store/reconcile_runs.py;
# migration 0010)
reconcile_runs = sa.Table(
    "reconcile_runs",
    metadata,
    sa.Column("id", CanaryId, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("drift", sa.Integer, nullable=False),
    sa.Column("unreadable", sa.Integer, nullable=False),
    sa.Index("ix_reconcile_runs_app", "app", "at"),
)
