"""Legacy authentication: the api_key in the path names an app; HTTP Basic proves it.

The Basic credentials must be `api_key:api_secret` of that app. Comparisons are constant
time, and an unknown key is compared against a dummy secret so that both paths cost the same.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable

from bridge.canonical import ErrorCode
from bridge.errors import AuthError
from bridge.settings import AppConfig

_DUMMY_SECRET = "orders-bridge-dummy-secret-for-unknown-keys"  # noqa: S105 - compared, never accepted


class AppDirectory:
    def __init__(self, apps: Iterable[AppConfig]) -> None:
        self._by_key = {app.api_key: app for app in apps}

    def authenticate(self, api_key: str, authorization: str | None) -> AppConfig:
        app = self._by_key.get(api_key)
        expected_secret = app.api_secret.get_secret_value() if app else _DUMMY_SECRET
        user, secret = _basic_credentials(authorization)
        key_ok = hmac.compare_digest(user.encode(), api_key.encode())
        secret_ok = hmac.compare_digest(secret.encode(), expected_secret.encode())
        if app is None:
            raise AuthError(ErrorCode.INVALID_API_KEY, "The API key sent in cannot be found.")
        if not (key_ok and secret_ok):
            raise AuthError(ErrorCode.ACCESS_DENIED, "The API credentials are not valid.")
        return app


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    """Decode `Basic base64(user:secret)`; anything else (another scheme, text that is not
    base64 or not ASCII, credentials that are not UTF-8) yields empty credentials."""
    if not authorization:
        return "", ""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError and non-ASCII text are all ValueErrors
        return "", ""
    user, _, secret = decoded.partition(":")
    return user, secret
