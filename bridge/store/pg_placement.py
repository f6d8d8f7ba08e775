"""PostgreSQL: a local order placed by one statement, `bridge_place_order()` (0008, 0011).

The function makes the SQLite unit of work's statements (bridge/store/local_engine.py) in the
same order, inside the one statement: a statement is atomic on its own, so there is no BEGIN
and no COMMIT, and the whole placement is one round trip. Its refusals come back as the
errors the unit of work raises on SQLite.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from bridge.canonical import Order, Purchase, Target
from bridge.errors import InsufficientPoints, OutOfStock
from bridge.store.executor import Database, IntegrityError, RefusedError
from bridge.store.idempotency import KeyClaim, KeyTakenError, held_claim
from bridge.store.ledger import Ledger, duplicate_external_id
from bridge.store.rows import order_from_row
from bridge.store.statements import Query

PLACE = Query(
    sa.text(
        "SELECT placed_id, placed_status, placed_balance FROM bridge_place_order("
        ":app, :customer_id, :offer_id, :quantity, :points, :status, :external_id, :name,"
        " :logo, :description, :offer_type, :email_enc, :ip, :shipping_address,"
        " :challenge_id, :created_at, :velocity_max, :velocity_since, :key, :fingerprint,"
        " :operation, :key_created_at, :key_expires_at, :key_owner)"
    )
)
NO_POINTS = "BR001"
EXTERNAL_ID_TAKEN = "BR002"
NO_STOCK = "BR003"
KEY_CONSTRAINT = "pk_idempotency_keys"
EXTERNAL_ID_CONSTRAINT = "uq_orders_app_external_id"


async def place(db: Database, ledger: Ledger, purchase: Purchase) -> Order:
    """Place the purchase in one statement (with the key its write holds, if any); the order
    with the balance after the debit."""
    claim = held_claim()
    values = ledger.row_values(purchase, Target.LOCAL, purchase.status)
    arguments = {**values, **_velocity(purchase), **_claim(claim)}
    try:
        (placed_id, status, balance), *_ = await db.write_one(PLACE, arguments)
    except RefusedError as exc:
        raise _refusal(exc, purchase) from exc
    except IntegrityError as exc:
        raise _conflict(exc, purchase, claim) from exc
    row = SimpleNamespace(**{**values, "id": placed_id, "status": status})
    return order_from_row(row).model_copy(update={"available_points": balance})


def _velocity(purchase: Purchase) -> dict[str, Any]:
    velocity = purchase.velocity
    return {
        "velocity_max": velocity.max_orders if velocity else None,
        "velocity_since": velocity.since if velocity else None,
    }


def _claim(claim: KeyClaim | None) -> dict[str, Any]:
    return {
        "key": claim.key if claim else None,
        "fingerprint": claim.fingerprint if claim else None,
        "operation": claim.operation if claim else None,
        "key_created_at": claim.created_at if claim else None,
        "key_expires_at": claim.expires_at if claim else None,
        "key_owner": claim.owner if claim else None,
    }


def _refusal(exc: RefusedError, purchase: Purchase) -> Exception:
    if exc.code == NO_POINTS:
        return InsufficientPoints(purchase.customer.id, cost=purchase.points)
    if exc.code == NO_STOCK:
        return OutOfStock(purchase.offer.id, quantity=purchase.quantity)
    if exc.code == EXTERNAL_ID_TAKEN:
        return duplicate_external_id(purchase.external_id or "")
    return exc


def _conflict(exc: IntegrityError, purchase: Purchase, claim: KeyClaim | None) -> Exception:
    """A unique violation: a concurrent holder of the key, or of the external id."""
    if exc.constraint == KEY_CONSTRAINT and claim is not None:
        return KeyTakenError(claim.app, claim.key)
    if exc.constraint == EXTERNAL_ID_CONSTRAINT:
        return duplicate_external_id(purchase.external_id or "")
    return exc
