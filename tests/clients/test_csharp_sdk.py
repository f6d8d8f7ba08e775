"""SessionM's C# SDK (`SessionM.MMC`): its exact create calls, its model over the answers.

The issue's acceptance: the SDK's create body places an order by user id and by external id,
on the local and on the Incentives target.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.clients import csharp
from tests.clients.models import CSharpResponse
from tests.conftest import API_KEY
from tests.contract import Contract
from tests.email.conftest import Inbox, wait_until
from tests.legacy_api import Answer, LegacyApi

GIFTCARD_LOGO = "http://content.sessionm.com/1/2/2/2/giftcard.png"
CUSTOMERS = ("users/demo-user-1", "external/users/ext-demo-1")


async def sdk_create(
    api: LegacyApi, customer: str, offer: int, newline: str = csharp.WINDOWS, **order: str
) -> tuple[Answer, CSharpResponse]:
    """POST the SDK's bytes with its headers; the answer, and what the SDK's model reads."""
    caller = api.as_caller(**csharp.headers())
    path = csharp.create_path(customer, offer, api.api_key)
    answer = await caller.call("POST", path, csharp.create_body(newline, **order))
    return answer, CSharpResponse.read(orjson.dumps(answer.body))


@pytest.mark.parametrize("newline", [csharp.WINDOWS, csharp.UNIX], ids=["crlf", "lf"])
@pytest.mark.parametrize("customer", CUSTOMERS)
async def test_the_sdk_create_places_an_order(
    target_api: LegacyApi, customer: str, newline: str
) -> None:
    answer, read = await sdk_create(target_api, customer, offer=1, newline=newline)
    assert read.status == "ok", answer.body
    assert read.order is not None
    assert (read.order.offer_id, read.order.quantity, read.order.points) == (1, 1, 100)
    assert read.order.id == answer.order["id"] > 0
    assert (read.order.user_id, read.order.status) == ("demo-user-1", "approved")
    assert read.order.created_at is not None
    assert (read.order.name, read.order.logo) == ("Electronic Giftcard", GIFTCARD_LOGO)


async def test_an_offer_without_a_logo_reads_as_no_logo(target_api: LegacyApi) -> None:
    answer, read = await sdk_create(target_api, "users/demo-user-1", offer=3)
    assert read.order is not None, answer.body
    assert (read.order.name, read.order.logo) == ("Sweepstakes Entry", None)
    assert "logo" not in answer.order


@pytest.mark.parametrize("email", ["not-an-email", "a@b@c"])
async def test_a_non_empty_malformed_email_is_still_refused(
    target_api: LegacyApi, email: str
) -> None:
    answer, read = await sdk_create(target_api, "users/demo-user-1", offer=1, email=email)
    assert (read.status, read.order) == ("error", None)
    assert read.errors is not None
    assert (read.errors["code"], answer.message.split(":")[0]) == ("validation", "order.email")


async def test_a_given_email_is_kept(target_api: LegacyApi) -> None:
    _answer, read = await sdk_create(
        target_api, "users/demo-user-1", offer=1, email="someone@example.org"
    )
    assert read.status == "ok"


async def test_the_empty_email_sends_the_fulfilment_email_to_the_customer(
    target: str,
    bridge_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    start_sandbox: Callable[..., Awaitable[TestServer]],
    start_incentives_bridge: Callable[..., Awaitable[TestClient[Any, Any]]],
    smtp_settings: dict[str, Any],
    inbox: Inbox,
    contract: Contract,
) -> None:
    if target == "local":
        client = await bridge_client(smtp=smtp_settings)
    else:
        client = await start_incentives_bridge(
            await start_sandbox(), settings_overrides={"smtp": smtp_settings}
        )
    api = LegacyApi(client, contract, API_KEY, ())
    _answer, read = await sdk_create(api, "external/users/ext-demo-1", offer=1)
    assert read.status == "ok"
    await wait_until(lambda: len(inbox.messages) == 1)
    assert inbox.messages[0][0] == ["demo1@example.com"]
