"""The OpenAPI document shows each client's shapes, and every example in it is valid.

Examples live in `components.requestBodies` and `components.responses`; each validates
against the schema beside it, the client ones match what the clients send and read, and the
C# SDK's request example, sent as is, places an order on both targets. The request schema
and the bridge's parser agree on the bodies clients send: accepted ones validate, and what
the schema refuses the parser refuses (the fuzz run's negative check relies on it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bridge.canonical import CustomerRef
from bridge.errors import BridgeError
from mappings.legacy.create_order import place_order_from_wire
from tests.clients import csharp
from tests.clients.models import CSharpResponse, IosOrder
from tests.contract import read_document
from tests.legacy_api import LegacyApi

DOCUMENT = read_document()
CLIENT_REQUEST_EXAMPLES = {"CreateOrder": {"sessionm-csharp-sdk", "not-given-values"}}
CLIENT_RESPONSE_EXAMPLES = {"OrderResult": {"sessionm-csharp-sdk", "offer-without-logo"}}


def examples(section: str) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
    """(component, example name, schema, value) for every example of a component section."""
    for component, item in DOCUMENT["components"][section].items():
        for media in item.get("content", {}).values():
            for name, example in media.get("examples", {}).items():
                yield component, name, media["schema"], example["value"]


ALL_EXAMPLES = [*examples("requestBodies"), *examples("responses")]


def example(section: str, component: str, name: str) -> Any:
    (media,) = DOCUMENT["components"][section][component]["content"].values()
    return media["examples"][name]["value"]


@pytest.mark.parametrize(
    ("component", "name", "schema", "value"),
    ALL_EXAMPLES,
    ids=[f"{component}-{name}" for component, name, _schema, _value in ALL_EXAMPLES],
)
def test_every_example_validates_against_its_schema(
    component: str, name: str, schema: dict[str, Any], value: Any
) -> None:
    validator = Draft202012Validator({**DOCUMENT, **schema})
    assert list(validator.iter_errors(value)) == [], f"{component} example {name}"


@pytest.mark.parametrize(
    ("section", "wanted"),
    [("requestBodies", CLIENT_REQUEST_EXAMPLES), ("responses", CLIENT_RESPONSE_EXAMPLES)],
)
def test_each_client_shape_has_an_example(section: str, wanted: dict[str, set[str]]) -> None:
    present = {(component, name) for component, name, _schema, _value in examples(section)}
    expected = {(component, name) for component, names in wanted.items() for name in names}
    assert expected - present == set()


def test_the_csharp_request_example_is_what_the_sdk_sends() -> None:
    sent = json.loads(csharp.create_body())
    assert example("requestBodies", "CreateOrder", "sessionm-csharp-sdk") == sent


@pytest.mark.parametrize("name", sorted(CLIENT_RESPONSE_EXAMPLES["OrderResult"]))
def test_the_response_examples_read_with_every_client_model(name: str) -> None:
    value = example("responses", "OrderResult", name)
    read = CSharpResponse.read(json.dumps(value).encode())
    assert read.order is not None
    assert IosOrder.read(value["order"]).order_id == str(read.order.id)


async def test_the_csharp_request_example_places_an_order(target_api: LegacyApi) -> None:
    body = example("requestBodies", "CreateOrder", "sessionm-csharp-sdk")
    answer = await target_api.create(offer=1, body=body)
    documented = example("responses", "OrderResult", "sessionm-csharp-sdk")["order"]
    assert set(answer.order) == set(documented)
    assert {k: type(v) for k, v in answer.order.items()} == {
        k: type(v) for k, v in documented.items()
    }


ACCEPTED_ORDERS: list[dict[str, Any]] = [
    csharp.factory_order(),
    {"quantity": None, "email": " ", "ip": "\r\n", "status": "", "external_id": "\t"},
    {"quantity": " 2 ", "challenge": {"id": "111111"}},
    {"quantity": 2.0, "challenge": {}, "shipping_address": ""},
    {"challenge": {"id": None}, "shipping_address": {"city": "", "street2": None}},
    {"challenge": "", "shipping_address": None, "status": "pending_approval"},
    {"recaptcha_challenge_field": 5, "recaptcha_response_field": {"a": 1}, "gift_wrap": True},
    {"shipping_address": {"city": "Boston", "floor": 3}},
]
REFUSED_ORDERS: list[dict[str, Any]] = [
    {"quantity": "1.5"},
    {"quantity": {}},
    {"quantity": "\u00a0"},
    {"quantity": True},
    {"email": {}},
    {"status": "approved"},
    {"status": "\u00a0"},
    {"challenge": {"id": {}}},
    {"challenge": {"id": "-1"}},
    {"challenge": "111111"},
    {"shipping_address": {"city": {}}},
    {"external_id": 7},
]


def request_schema_errors(order: dict[str, Any]) -> list[Any]:
    schema = {"$ref": "#/components/schemas/CreateOrderRequest"}
    return list(Draft202012Validator({**DOCUMENT, **schema}).iter_errors({"order": order}))


@pytest.mark.parametrize("order", ACCEPTED_ORDERS, ids=repr)
def test_what_the_bridge_accepts_the_request_schema_allows(order: dict[str, Any]) -> None:
    place_order_from_wire({"order": order}, CustomerRef(user_id="demo-user-1"), 1)
    assert request_schema_errors(order) == []


@pytest.mark.parametrize("order", REFUSED_ORDERS, ids=repr)
def test_what_the_request_schema_refuses_the_bridge_refuses(order: dict[str, Any]) -> None:
    assert request_schema_errors(order) != []
    with pytest.raises(BridgeError):
        place_order_from_wire({"order": order}, CustomerRef(user_id="demo-user-1"), 1)
