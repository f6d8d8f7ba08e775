"""The redaction processor: personal data and secrets never reach a rendered log line.

Two nets, applied to every event before it is rendered:
- by key: the value of any key that names personal data or a secret (`email`, `ip`,
  `shipping_address`, `authorization`, `api_secret`, `password`, ...) becomes `[redacted]`,
  whatever its type, at any depth of nested dicts and lists;
- by shape: inside every other string (event names, messages, formatted tracebacks), email
  addresses (internationalised ones and `%40`-encoded ones included) become `[email]`,
  IPv4/IPv6 addresses `[ip]`, and the credentials after `Basic ` or `Bearer ` become
  `[redacted]`;
- by position: in a path, the api key of `/apps/{api_key}/` and every id a client chose
  (`/users/{id}`, `/orders/{id}`, the `external/` forms too) become `[redacted]`, whatever
  they hold (an id may be an email, a street, a name); integer order ids stay.
Postal addresses have no reliable shape, so they are caught by key only: code that logs an
address must do so under an address-like key (docs/metrics.md, "Logs").
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[redacted]"

SENSITIVE_KEYS = frozenset(
    {
        "email",
        "ip",
        "remote",
        "remote_addr",
        "client_ip",
        "x_forwarded_for",
        "forwarded",
        "phone",
        "first_name",
        "last_name",
        "full_name",
        "street",
        "city",
        "zip",
        "postal_code",
        "postcode",
        "api_key",
        "cookie",
        "set_cookie",
    }
)
SENSITIVE_KEY_PARTS = ("address", "email", "secret", "password", "token", "authorization")
"""A key containing any of these (`shipping_address`, `incentives_secret`) is redacted."""

EMAIL = re.compile(r"[\w.%+'-]+(?:@|%40)[\w.-]+\.\w{2,}")
"""Unicode-aware (`\\w`): `josé@exämple.de` and `用户@例子.中国` are emails too."""
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
CREDENTIALS = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
API_KEY_SEGMENT = re.compile(r"(/apps/)[^/\s?#]+")
"""The api key in a legacy or Core path (`/priv/v1/apps/{api_key}/...`)."""
ID_SEGMENT = re.compile(
    r"(/(?:users|orders)/)"
    r"(?!\d+(?:[/?#\"'\\\r\n]|$))"  # an id of digits only is the bridge's own
    r"(?!\w+\.py\\?\", line \d)"  # a traceback frame's source file (bridge/orders/*.py)
    r"[^/?#\"'\\\r\n]+"
)
"""A client's id after `/users/` or `/orders/` (legacy and Core paths), unless all digits or a
traceback frame's file (`File "/srv/bridge/orders/service.py", line 70`). It runs to the next
`/`, `?`, `#`, quote or line end: a decoded id may hold spaces (`12 Rue de la Paix`), so in
free text a little more than the id may be masked."""


def redact_personal_data(
    _logger: object, _method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask personal data and secrets in the event (module docstring)."""
    for key, value in event_dict.items():
        event_dict[key] = _redact_value(key, value)
    return event_dict


@functools.lru_cache(maxsize=4096)
def is_sensitive_key(key: str) -> bool:
    """Cached: keys come from a small vocabulary, and every key of every log line asks."""
    normal = key.lower().replace("-", "_")
    return normal in SENSITIVE_KEYS or any(part in normal for part in SENSITIVE_KEY_PARTS)


def redact_text(text: str) -> str:
    """Mask emails, IP addresses, Basic/Bearer credentials and path ids inside free text.

    An identifier (letters, digits, `_`: most values of a log line, such as event names,
    operations and app names) holds none of the `/`, `@`, `%`, `.`, `:` or space every mask
    needs, so it is returned at once."""
    if text.isidentifier():
        return text
    if "/users/" in text or "/orders/" in text:
        text = ID_SEGMENT.sub(rf"\1{REDACTED}", text)
    if "@" in text or "%40" in text:
        text = EMAIL.sub("[email]", text)
    if "." in text:
        text = IPV4.sub(_mask_ip, text)
    if text.count(":") >= 2:
        text = IPV6_CANDIDATE.sub(_mask_ip, text)
    if " " in text:
        text = CREDENTIALS.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    if "/apps/" in text:
        text = API_KEY_SEGMENT.sub(rf"\1{REDACTED}", text)
    return text


def _redact_value(key: object, value: Any) -> Any:
    if isinstance(key, str) and is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(None, item) for item in value]
    return value


def _mask_ip(match: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[ip]"
