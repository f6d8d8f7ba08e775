"""The email cipher's in-memory reuse of a token it has just read (bridge/crypto.py)."""

from __future__ import annotations

from cryptography.fernet import Fernet

from bridge.crypto import DECRYPTED_CACHE_SIZE, EmailCipher

EMAIL = "someone@example.com"


def test_an_email_read_from_a_token_of_the_first_key_is_sealed_as_that_token() -> None:
    key = EmailCipher.generate_key()
    stored = EmailCipher([key]).encrypt(EMAIL)
    cipher = EmailCipher([key])
    assert cipher.encrypt(EMAIL) != stored  # not read yet: encrypted afresh
    assert cipher.decrypt(stored) == EMAIL
    assert cipher.encrypt(EMAIL) == stored
    assert cipher.encrypt("other@example.com") != cipher.encrypt("other@example.com")


def test_a_token_of_an_older_key_is_never_reused() -> None:
    old, new = EmailCipher.generate_key(), EmailCipher.generate_key()
    stored = EmailCipher([old]).encrypt(EMAIL)
    cipher = EmailCipher([new, old])
    assert cipher.decrypt(stored) == EMAIL
    sealed = cipher.encrypt(EMAIL)
    assert sealed != stored
    assert cipher.is_current(sealed)
    assert Fernet(new.encode()).decrypt(sealed.encode()).decode() == EMAIL


def test_the_emails_kept_are_bounded() -> None:
    key = EmailCipher.generate_key()
    writer, cipher = EmailCipher([key]), EmailCipher([key])
    tokens = [writer.encrypt(f"{n}@example.com") for n in range(DECRYPTED_CACHE_SIZE + 1)]
    for token in tokens:
        cipher.decrypt(token)
    assert cipher.encrypt(f"{DECRYPTED_CACHE_SIZE}@example.com") == tokens[-1]
    assert cipher.encrypt("0@example.com") != tokens[0]  # emptied when full
