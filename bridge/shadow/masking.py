"""Personal data out of everything the shadow machinery keeps (diff store, report, recorder).

The same two nets as the log redaction (bridge/observability/redaction.py): by key (any path
segment or object key naming an email, address, IP, name, phone or secret masks the whole
value) and by shape (emails and IP addresses inside any other string).
"""

from __future__ import annotations

from typing import Any

import orjson

from bridge.observability.redaction import REDACTED, is_sensitive_key, redact_text


def path_keys(path: str) -> list[str]:
    """The object keys a path template names (`orders[].shipping_address` -> both keys)."""
    return [part.replace("[]", "") for part in path.split(".") if part]


def mask(path: str, value: Any) -> Any:
    """The value as it may be kept: masked whole under a sensitive key, else element-wise."""
    if any(is_sensitive_key(key) for key in path_keys(path)):
        return REDACTED if value is not None else None
    return mask_document(value)


def mask_document(value: Any) -> Any:
    """A JSON document with sensitive keys' values and emails/IPs in strings masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive_key(str(key)) else mask_document(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_document(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def masked_json(path: str, value: Any) -> str:
    """`mask` serialised as JSON text, as the diff store keeps it."""
    return orjson.dumps(mask(path, value)).decode()
