"""SessionM's C# server SDK (`SessionM.MMC`) as it calls the legacy API (docs/clients.md).

`create_body` is the text `OrderFactory.createOrderById`/`createOrderByExternalId` send:
Newtonsoft's `Formatting.Indented` (two spaces, `": "`, the platform's line break) of an
`SMRequest` whose `order` has the factory's five non-default values, in the `Order` class's
declaration order; `DefaultValueHandling.Ignore` and `NullValueHandling.Ignore` leave out
everything else. `headers` are `AsyncClient.postResponseString`'s.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import basic_auth

CONTENT_TYPE = "application/json; charset=utf-8"
"""`new StringContent(json, Encoding.UTF8, "application/json")`."""

WINDOWS = "\r\n"
UNIX = "\n"


def factory_order(ip: str = "198.51.100.7", email: str = "") -> dict[str, Any]:
    """The `Order` the factories build; `email` is always "" there."""
    return {
        "quantity": 1,
        "recaptcha_challenge_field": "",
        "recaptcha_response_field": "",
        "ip": ip,
        "email": email,
    }


def create_body(newline: str = WINDOWS, **order: str) -> bytes:
    text = json.dumps({"order": factory_order(**order)}, indent=2, ensure_ascii=False)
    return text.replace("\n", newline).encode("utf-8")


def headers() -> dict[str, str]:
    return {**basic_auth(), "Accept": "application/json", "Content-Type": CONTENT_TYPE}


def create_path(customer: str, offer: int, api_key: str = "demo-api-key") -> str:
    """`APIRoutes.createNewOrderForOfferWith(External)IdRoute`, after `serviceUrl()`."""
    return f"/priv/v1/apps/{api_key}/{customer}/offers/{offer}/orders"
