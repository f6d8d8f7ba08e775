"""Schemathesis hooks for the fuzz run: the legacy way of refusing data is a 200 envelope.

Loaded by `SCHEMATHESIS_HOOKS=tests.reliability.schemathesis_hooks` (tests/reliability/
test_fuzzing.py). The built-in `negative_data_rejection` check accepts a 200 (the legacy
status of a refused call, docs/errors.md); this check makes sure that 200 says so.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import schemathesis

DOCUMENT = json.loads(resources.files("bridge.legacy").joinpath("openapi.json").read_text())
QUERY_NAMES = frozenset(
    parameter["name"]
    for parameter in DOCUMENT["components"]["parameters"].values()
    if parameter["in"] == "query"
)
"""Every documented query parameter; others are ignored, as by the legacy API."""
HEADER_NAMES = frozenset({"authorization", "idempotency-key", "content-type", "accept"})
"""Headers the document or HTTP gives a meaning; others are ignored, as by any HTTP API."""


@schemathesis.check
def legacy_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Data that breaks the document is never accepted: a 200 answer is an error envelope."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative or response.status_code != 200:
        return None
    if not case.path.startswith("/priv/"):
        return None
    if set(case.query or {}) - QUERY_NAMES:
        return None  # an unknown query parameter is ignored (docs/reliability.md)
    if any(value in (None, "", [], {}) for value in (case.query or {}).values()):
        return None  # sent as `name=` or not at all: "not given" (docs/clients.md), any type
    if {name.lower() for name in case.headers or {}} - HEADER_NAMES:
        return None  # so is an unknown header
    body = response.json()
    if body.get("status") != "error":
        raise AssertionError(f"invalid data accepted: {body}")
    return True
