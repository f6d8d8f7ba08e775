"""Core customer lookup: who is this customer, by SessionM id or by external id.

GET /priv/v1/apps/{api_key}/users/{user_id}
GET /priv/v1/apps/{api_key}/external/users/{external_id}

The legacy Core API stays in service after the migration (DESIGN.md section 3): it is the only
place an external id becomes a `user.id`. It answers in the legacy envelope,
`{"status":"ok","user":{...}}`, with legacy Basic auth (api key and secret), not Connect's.

The answer becomes the canonical `Customer` directly; the app it belongs to is supplied by the
caller (`RESPONSE.apply(wire, app=...)`), as the answer does not carry it.

Quirks handled:
- A customer is registered when `registered_at` is present (absent for unregistered ones).
- `country` is upper-cased (the legacy API is not consistent about case).
- Only the fields the legacy order rules need are read; the rest is ignored.

Assumption (not public): the lookup by SessionM id answers like the external-id lookup; the
bridge uses it to learn `registered` and `country` for the order rules.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel

from bridge.canonical import Customer
from bridge.mapping import Call, Converter, Mapping, computed, rename
from mappings.incentives import errors, wire
from mappings.incentives.wire import Received


class UserWire(Received):
    id: str
    external_id: str | None = None
    email: str | None = None
    country: str | None = None
    registered_at: str | None = None


class CoreUserWire(Received):
    user: UserWire


def is_registered(source: BaseModel) -> bool:
    """A customer is registered when Core gives a `registered_at` date."""
    assert isinstance(source, CoreUserWire)
    return source.user.registered_at is not None


UPPER = Converter("upper case", str.upper)

REQUEST = None  # the request is the path alone

RESPONSE: Mapping[Customer] = Mapping(
    module=__name__,
    direction=wire.RESPONSE,
    source=CoreUserWire,
    target=Customer,
    fields=(
        rename("id", "user.id"),
        rename("external_id", "user.external_id"),
        computed("registered", is_registered, reads=("user.registered_at",)),
        rename("email", "user.email"),
        rename("country", "user.country", UPPER),
    ),
    supplied=("app",),
)

CALL = Call(
    module=__name__,
    name="core_user",
    method="GET",
    path="/priv/v1/apps/{api_key}/users/{user_id}",
    request=REQUEST,
    response=RESPONSE,
    errors=errors.BY_CODE,
    read=True,
    params=("api_key", "user_id"),
)

BY_EXTERNAL_ID = replace(
    CALL,
    path="/priv/v1/apps/{api_key}/external/users/{external_id}",
    params=("api_key", "external_id"),
)
"""The same lookup by the customer's external id (checked again at import, as CALL is)."""
