"""Golden JSON pairs for the legacy mapping modules (plain functions, one direction each).

The request modules in mappings/legacy/ are plain functions, one direction each, so each has
one pair and no round trip; the order object is a reversible mapping (`ORDER`), so its pair
also round-trips through `ORDER_FROM_WIRE`, the way the backfill reads legacy history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from bridge.canonical import CustomerRef, Order, PlaceOrder
from mappings.legacy.create_order import place_order_from_wire
from mappings.legacy.list_orders import order_filter_from_query
from mappings.legacy.order import ORDER, ORDER_FROM_WIRE, ok_order, ok_orders
from mappings.legacy.update_order_status import requested_status_from_wire
from mappings.legacy.wire import HistoryOrderWire

GOLDEN = Path(__file__).parent / "golden" / "legacy"


def pair(name: str) -> tuple[dict[str, Any], Any]:
    document = json.loads((GOLDEN / f"{name}.json").read_text())
    return document["given"], document["expected"]


def cases(name: str) -> list[dict[str, Any]]:
    """A golden file holding a list of named pairs (one module, several client shapes)."""
    document: list[dict[str, Any]] = json.loads((GOLDEN / f"{name}.json").read_text())
    return document


@pytest.mark.parametrize("case", cases("create_order"), ids=lambda case: case["name"])
def test_create_order_request_becomes_place_order(case: dict[str, Any]) -> None:
    given, expected = case["given"], case["expected"]
    command = place_order_from_wire(
        given["body"], CustomerRef(user_id=given["user_id"]), given["offer_id"]
    )
    assert TypeAdapter(PlaceOrder).dump_python(command, mode="json") == expected


def test_list_query_becomes_order_filter() -> None:
    given, expected = pair("list_orders")
    assert order_filter_from_query(given["query"]).model_dump(mode="json") == expected


def test_update_body_becomes_a_status() -> None:
    given, expected = pair("update_order_status")
    assert requested_status_from_wire(given["body"]).value == expected


def test_order_becomes_the_legacy_order_object() -> None:
    given, expected = pair("order")
    assert ok_order(Order.model_validate(given["order"])) == expected


def test_a_page_renders_each_order_as_the_order_object() -> None:
    given, expected = pair("order")
    order = Order.model_validate(given["order"])
    other = order.model_copy(update={"id": 2, "available_points": None, "external_id": "x-2"})
    page = ok_orders([order, other])
    assert page == {"status": "ok", "orders": [ok_order(order)["order"], ok_order(other)["order"]]}
    assert page["orders"][0] == expected["order"]
    assert "available_points" not in page["orders"][1]["user"]


def test_the_legacy_order_object_round_trips() -> None:
    given, expected = pair("order")
    order = Order.model_validate(given["order"])
    back = ORDER_FROM_WIRE.apply(HistoryOrderWire.model_validate(expected["order"]), app=order.app)
    assert back == order
    assert ORDER.apply(back).model_dump(exclude_none=True) == expected["order"]


def test_every_legacy_module_has_a_golden_file() -> None:
    modules = {p.stem for p in (Path(__file__).parents[2] / "mappings" / "legacy").glob("*.py")}
    helpers = {"__init__", "parse", "wire", "comparison"}  # shared helpers and shadow rules
    assert {p.stem for p in GOLDEN.glob("*.json")} == modules - helpers
