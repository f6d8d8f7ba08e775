"""Emails are stored encrypted: no plaintext address in the SQLite files, yet each one decrypts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.crypto import EmailCipher
from bridge.store.executor import open_database
from bridge.store.ledger import Ledger
from tests.conftest import PREFIX, basic_auth

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
