"""PostgreSQL: bridge_place_order(), a local order placed in one statement (one round trip)

The local engine's order placement (bridge/store/local_engine.py) on PostgreSQL: the
idempotency claim, the velocity count, the debit, the stock, the order row, its points-ledger
entry, the fulfilment email's outbox row and the claim's order id, in one function called as
one statement. A statement is atomic on its own, so the caller sends no BEGIN or COMMIT: one
round trip instead of ten. Every check is the one the SQLite unit of work makes, in the same
order; a refusal raises a bridge SQLSTATE (class BR: BR001 no points or stock, BR002 a
taken external id) or a unique violation (a claimed key; an external id taken by a
concurrent order), which the store turns into the same errors as on SQLite. SQLite has no
such function: its unit of work runs on the writer thread.

Revision ID: 0008_place_order_function
Revises: 0007_outbox_order_index
Create Date: 2026-12-05 01:30:00
"""

from alembic import op

revision = "0008_place_order_function"
down_revision = "0007_outbox_order_index"
branch_labels = None
depends_on = None

SIGNATURE = (
    "bridge_place_order(text, text, bigint, bigint, bigint, text, text, text, text, text, text,"
    " text, text, json, bigint, timestamptz, bigint, timestamptz, text, text, text, timestamptz,"
    " timestamptz, text)"
)

FUNCTION = """
CREATE OR REPLACE FUNCTION bridge_place_order(
    p_app text, p_customer_id text, p_offer_id bigint, p_quantity bigint, p_points bigint,
    p_status text, p_external_id text, p_name text, p_logo text, p_description text,
    p_offer_type text, p_email_enc text, p_ip text, p_shipping_address json,
    p_challenge_id bigint, p_created_at timestamptz,
    p_velocity_max bigint, p_velocity_since timestamptz,
    p_key text, p_fingerprint text, p_operation text, p_key_created_at timestamptz,
    p_key_expires_at timestamptz, p_key_owner text
) RETURNS TABLE (placed_id bigint, placed_status text, placed_balance bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_balance bigint;
    v_status text := p_status;
    v_id bigint;
BEGIN
    IF p_key IS NOT NULL THEN  -- first: a duplicate waits here, before it locks anything
        INSERT INTO idempotency_keys
            (app, key, fingerprint, operation, status, created_at, expires_at, owner)
        VALUES (p_app, p_key, p_fingerprint, p_operation, 'in_progress', p_key_created_at,
                p_key_expires_at, p_key_owner);
    END IF;
    UPDATE points_accounts SET balance = balance - p_points
        WHERE app = p_app AND customer_id = p_customer_id AND balance >= p_points
        RETURNING balance INTO v_balance;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'BR001',
            MESSAGE = 'The customer does not have enough points for this order.';
    END IF;
    UPDATE offers
        SET inventory = CASE WHEN inventory IS NULL THEN NULL ELSE inventory - p_quantity END
        WHERE app = p_app AND id = p_offer_id AND active
          AND (inventory IS NULL OR inventory >= p_quantity);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'BR001', MESSAGE = 'The reward is out of stock.';
    END IF;
    IF p_velocity_max IS NOT NULL AND p_ip IS NOT NULL AND v_status = 'approved' THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('velocity|' || p_app || '|' || p_ip, 0));
        IF (SELECT count(*) FROM orders
            WHERE app = p_app AND ip = p_ip AND created_at >= p_velocity_since)
           >= p_velocity_max THEN
            v_status := 'pending_approval';
        END IF;
    END IF;
    IF p_external_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM orders WHERE app = p_app AND external_id = p_external_id
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'BR002', MESSAGE = 'external id taken';
    END IF;
    INSERT INTO orders (app, customer_id, offer_id, quantity, points, status, target,
                        external_id, name, logo, description, offer_type, email_enc, ip,
                        shipping_address, challenge_id, created_at, updated_at)
    VALUES (p_app, p_customer_id, p_offer_id, p_quantity, p_points, v_status, 'local',
            p_external_id, p_name, p_logo, p_description, p_offer_type, p_email_enc, p_ip,
            p_shipping_address, p_challenge_id, p_created_at, p_created_at)
    RETURNING id INTO v_id;
    INSERT INTO points_ledger (app, customer_id, order_id, kind, points, balance_after, created_at)
        VALUES (p_app, p_customer_id, v_id, 'order_debit', -p_points, v_balance, p_created_at);
    IF v_status = 'approved' THEN
        INSERT INTO outbox (app, order_id, kind, status, attempts, next_attempt_at, created_at)
            VALUES (p_app, v_id, 'fulfilment_email', 'pending', 0, p_created_at, p_created_at);
    END IF;
    IF p_key IS NOT NULL THEN
        UPDATE idempotency_keys SET order_id = v_id
            WHERE app = p_app AND key = p_key AND status = 'in_progress';
    END IF;
    RETURN QUERY SELECT v_id, v_status, v_balance;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
