"""Encryption at rest for personal data (fulfilment email), with key rotation.

Keys are Fernet keys (AES-128-CBC + HMAC-SHA256, from `cryptography`). The first key encrypts;
every key decrypts, so an operator rotates by putting a new key first, re-encrypting with
`orders-bridge rotate-email-keys`, then dropping the old key (docs/configuration.md).

Per process, in memory only: the last `DECRYPTED_CACHE_SIZE` tokens read are kept decrypted,
and an email this process has just read from a token of the first key is encrypted as that
same token (a local create seals its customer's email as the customer's row holds it: no
second encryption, about 6 us a create). What this tells someone who reads the database: that
two rows hold the same email where one row's token was copied from the other's (an order and
the customer whose email it took, or another row given that same address while this process
still holds it); any other two encryptions of one email differ. A token of an older key is
never reused, so a rotation that has passed a table cannot miss a copy made after it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DECRYPTED_CACHE_SIZE = 4096
"""Emails kept decrypted in memory per process (the customers of a busy minute)."""


class EmailCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError(
                "no email encryption key: set BRIDGE_EMAIL_KEYS "
                "(generate one with `orders-bridge generate-key`)"
            )
        fernets = [Fernet(key.encode()) for key in keys]
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._decrypted = functools.lru_cache(maxsize=DECRYPTED_CACHE_SIZE)(self._decrypt)
        """A stored token never changes, so each is decrypted once (docs/performance.md):
        its email, and whether the first key reads it."""
        self._sealed: dict[str, str] = {}
        """Email -> a token of the first key it was just read from (at most
        DECRYPTED_CACHE_SIZE: emptied when full)."""

    def encrypt(self, plaintext: str) -> str:
        sealed = self._sealed.get(plaintext)
        if sealed is not None:
            return sealed
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        plaintext, current = self._decrypted(token)
        if current:
            if len(self._sealed) >= DECRYPTED_CACHE_SIZE:
                self._sealed.clear()
            self._sealed[plaintext] = token
        return plaintext

    def _decrypt(self, token: str) -> tuple[str, bool]:
        try:
            return self._primary.decrypt(token.encode()).decode(), True
        except InvalidToken:
            pass
        try:
            return self._fernet.decrypt(token.encode()).decode(), False
        except InvalidToken as exc:
            raise ValueError("email cannot be decrypted with any configured key") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("email cannot be decrypted with any configured key") from exc

    def is_current(self, token: str) -> bool:
        """True when the first (newest) key alone decrypts the token: nothing to rotate."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()
