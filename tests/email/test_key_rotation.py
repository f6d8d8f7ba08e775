"""Email key rotation: written under key A, rotated with [B, A], readable with [B] alone."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from bridge.crypto import EmailCipher
from bridge.store import tables as t
from bridge.store.executor import open_database
from bridge.store.key_rotation import rotate_email_keys
from tests.conftest import PREFIX, basic_auth
from tests.queries import rows_at

pytestmark = pytest.mark.both_engines

ORDER_EMAIL = "private.person@example.org"
STORED_EMAILS = sorted(
    ["demo1@example.com", "demo-ca@example.com", "demo1@example.com", ORDER_EMAIL]
)


@pytest.fixture
def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
async def written_with_old_key(
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    """Demo customers (two with an email) and two orders, all under the `email_key` fixture."""
    client = await bridge_client()
    for order in ({"email": ORDER_EMAIL}, {}):
        response = await client.post(
            f"{PREFIX}/users/demo-user-1/offers/1/orders",
            json={"order": order},
            headers=basic_auth(),
        )
        assert (await response.json())["status"] == "ok"


async def _stored_emails(database_url: str, cipher: EmailCipher) -> list[str]:
    tokens = [
        row.email_enc
        for table in (t.customers, t.orders)
        for row in await rows_at(
            database_url, sa.select(table.c.email_enc).where(table.c.email_enc.is_not(None))
        )
    ]
    return sorted(cipher.decrypt(token) for token in tokens)


async def _rotate(database_url: str, cipher: EmailCipher) -> dict[str, tuple[int, int, int]]:
    engine = open_database(database_url)
    try:
        counts = await rotate_email_keys(engine, cipher, batch_size=1)
    finally:
        await engine.close()
    return {name: (c.rotated, c.current, c.unreadable) for name, c in counts.items()}


async def test_after_rotation_the_new_key_alone_reads_every_email(
    written_with_old_key: None, database_url: str, email_key: str, new_key: str
) -> None:
    await _rotate(database_url, EmailCipher([new_key, email_key]))

    assert await _stored_emails(database_url, EmailCipher([new_key])) == STORED_EMAILS


async def test_rotation_counts_every_row_it_re_encrypts(
    written_with_old_key: None, database_url: str, email_key: str, new_key: str
) -> None:
    counts = await _rotate(database_url, EmailCipher([new_key, email_key]))

    assert counts == {"customers": (2, 0, 0), "orders": (2, 0, 0)}


async def test_rotating_twice_changes_nothing_the_second_time(
    written_with_old_key: None, database_url: str, email_key: str, new_key: str
) -> None:
    cipher = EmailCipher([new_key, email_key])
    await _rotate(database_url, cipher)

    assert await _rotate(database_url, cipher) == {"customers": (0, 2, 0), "orders": (0, 2, 0)}


async def test_email_no_configured_key_reads_is_counted_and_left_alone(
    written_with_old_key: None, database_url: str, email_key: str, new_key: str
) -> None:
    counts = await _rotate(database_url, EmailCipher([new_key]))

    assert counts == {"customers": (0, 0, 2), "orders": (0, 0, 2)}
    assert await _stored_emails(database_url, EmailCipher([email_key])) == STORED_EMAILS


async def test_cli_rotates_with_the_keys_from_the_environment(
    written_with_old_key: None, database_url: str, email_key: str, new_key: str
) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_EMAIL_KEYS": f"{new_key},{email_key}",
        "BRIDGE_LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge",
        "rotate-email-keys",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    assert stdout.count(b'"event":"email_keys_rotated"') == 2
    assert await _stored_emails(database_url, EmailCipher([new_key])) == STORED_EMAILS
