"""Shared pieces of the Incentives wire format: model bases, the envelope, date converters, and
the two helpers every call module declares its mappings with (`request`, `response`).

Assumptions (client code, not documented):
- The envelope is `{"status":"ok","payload":{...}}`; an error is
  `{"status":"error","errors":{"code","type","message"},"payload":null}`.
- Dates are ISO-8601 UTC; .NET emits seven fractional digits, which Python cannot parse as is,
  so they are cut to six on the way in and padded to seven on the way out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, create_model

from bridge.mapping import Converter, Field, Mapping


class Frozen(BaseModel):
    """The canonical side of a call: what the backend hands over or gets back."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Emitted(BaseModel):
    """A body the bridge sends upstream: strict, so no stray field can leak out."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Received(BaseModel):
    """A payload the bridge receives: tolerant of fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


R = TypeVar("R", bound=Frozen)


class ErrorDetail(Received):
    code: str | None = None
    type: str | None = None
    message: str | None = None


class Envelope(Received):
    status: str
    payload: Any = None
    errors: ErrorDetail | None = None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _first_group(match: re.Match[str]) -> str:
    return match.group(1)


def parse_datetime(text: str) -> datetime:
    """ISO-8601 (any fraction length, `Z` or an offset) -> aware UTC datetime."""
    microseconds = _FRACTION.sub(_first_group, text.strip())  # a function: no template to expand
    parsed = datetime.fromisoformat(microseconds.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Aware datetime -> `2026-01-20T13:04:45.1234560Z` (.NET's seven fractional digits)."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0Z"


ISO_DATETIME = Converter("ISO-8601 UTC", parse_datetime, format_datetime)


class TenantConfig(Frozen):
    """What request mappings read of an app's `incentives:` block (the tenant config)."""

    retailer_id: str
    culture: str


REQUEST = "request: canonical + tenant config -> Incentives"
RESPONSE = "response: Incentives -> canonical"


def request(module: str, target: type[Emitted], *fields: Field, **inputs: Any) -> Mapping[Emitted]:
    """A call's request mapping. It reads the call's inputs (`inputs`: name -> type, the
    canonical values the caller passes) and the tenant config as `tenant`; a wire field that
    keeps its name is taken from an input, or else from the tenant config."""
    definitions: dict[str, Any] = {name: (kind, ...) for name, kind in inputs.items()}
    source = create_model(
        f"{module.rsplit('.', 1)[1]}_inputs",
        __base__=Frozen,
        tenant=(TenantConfig, ...),
        **definitions,
    )
    return Mapping(module, REQUEST, source, target, fields, same_from=("tenant",))


def response(module: str, source: type[Received], target: type[R], *fields: Field) -> Mapping[R]:
    """A call's response mapping: the answer's payload -> the canonical result."""
    return Mapping(module, RESPONSE, source, target, fields)
