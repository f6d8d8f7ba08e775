"""Emails are stored encrypted: no plaintext address in the SQLite files, yet each one decrypts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from bridge.canonical import OrderStatus, Target
from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store.catalog import Catalog
from bridge.store.executor import open_database
from bridge.store.ledger import Ledger
from tests.conftest import PREFIX, basic_auth
from tests.factories import approved_purchase
from tests.queries import rows_at

ORDER_EMAIL = "private.person@example.org"
CUSTOMER_EMAIL = "demo1@example.com"


async def _place(client: TestClient[Any, Any], order: dict[str, Any]) -> int:
    response = await client.post(
        f"{PREFIX}/users/demo-user-1/offers/1/orders", json={"order": order}, headers=basic_auth()
    )
    body = await response.json()
    assert body["status"] == "ok", body
    return int(body["order"]["id"])


def _database_bytes(database_url: str) -> bytes:
    """The database file and its WAL and shared-memory files, whichever exist."""
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
    assert path.exists()
    return b"".join(file.read_bytes() for file in files if file.exists())


async def test_no_plaintext_email_in_the_database_files(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    database_url: str,
    email_key: str,
) -> None:
    client = await bridge_client()
    explicit = await _place(client, {"email": ORDER_EMAIL})
    default = await _place(client, {})

    stored = _database_bytes(database_url)

    assert b"Electronic Giftcard" in stored  # the orders are in the bytes searched
    for email in (ORDER_EMAIL, CUSTOMER_EMAIL):
        assert email.encode() not in stored
        assert email.encode("utf-16-le") not in stored
    engine = open_database(database_url)
    try:
        ledger = Ledger(engine, EmailCipher([email_key]))
        assert await ledger.email(explicit) == ORDER_EMAIL
        assert await ledger.email(default) == CUSTOMER_EMAIL
    finally:
        await engine.close()


@pytest.mark.both_engines
async def test_an_order_without_an_email_keeps_its_customers_token(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]], database_url: str
) -> None:
    """Sealed once: the customer's stored token is the order's, not a second encryption."""
    client = await bridge_client()
    explicit = await _place(client, {"email": ORDER_EMAIL})
    default = await _place(client, {})

    customer = await rows_at(
        database_url, sa.select(t.customers.c.email_enc).where(t.customers.c.id == "demo-user-1")
    )
    orders = await rows_at(
        database_url,
        sa.select(t.orders.c.id, t.orders.c.email_enc).where(
            t.orders.c.id.in_([explicit, default])
        ),
    )
    tokens = {row.id: row.email_enc for row in orders}

    assert tokens[default] == customer[0].email_enc
    assert tokens[explicit] not in (None, customer[0].email_enc)


async def test_a_token_of_an_older_key_is_sealed_again_under_the_newest(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    database_url: str,
    email_key: str,
) -> None:
    """A rotation may already be past the orders table: an old key's token is not copied."""
    await bridge_client()  # the demo customers, sealed under `email_key`
    newest = Fernet.generate_key().decode()
    cipher = EmailCipher([newest, email_key])
    engine = open_database(database_url)
    try:
        catalog = Catalog(engine, cipher)
        purchase = await approved_purchase(catalog, "demo", "demo-user-1")
        customer = purchase.customer
        row = Ledger(engine, cipher).row_values(
            purchase.model_copy(update={"email": customer.email, "email_enc": customer.email_enc}),
            Target.LOCAL,
            OrderStatus.APPROVED,
        )
    finally:
        await engine.close()

    assert row["email_enc"] != customer.email_enc
    assert EmailCipher([newest]).decrypt(row["email_enc"]) == CUSTOMER_EMAIL
