"""Encryption at rest for personal data (fulfilment email), with key rotation.

Keys are Fernet keys (AES-128-CBC + HMAC-SHA256, from `cryptography`). The first key encrypts;
every key decrypts, so an operator rotates by putting a new key first, re-encrypting with
`orders-bridge rotate-email-keys`, then dropping the old key (docs/configuration.md).
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
        """A stored token never changes, so each is decrypted once (docs/performance.md)."""

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._decrypted(token)

    def _decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
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
