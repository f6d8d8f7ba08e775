"""Parse a legacy Orders API call into canonical values, without a live request.

The route handlers and the shadow executor (which replays a captured call) both parse through
here, so a call is read the same way wherever it is served. Every function takes plain
values (path parameters, body bytes) and raises the legacy error a handler would answer.

The steps are separate on purpose: a handler checks the path before it reads the body, and
that order decides which error a call with several faults gets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from bridge.canonical import CustomerRef, ErrorCode, OrderRef, PlaceOrder
from bridge.errors import RequestError, UnknownOffer, UnknownOrder
from mappings.legacy.create_order import place_order_from_wire

MAX_ID_LENGTH = 255
"""The longest user id, external id or external order id the store holds."""
MAX_ID_DIGITS = 18
"""The most digits an integer id (offer, order) can have and still fit the store."""


def is_id(raw: str) -> bool:
    """An integer id as the store holds it: ASCII digits (not any Unicode digit), 18 at most."""
    return raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS


def customer_ref(match_info: Mapping[str, str]) -> CustomerRef:
    """The customer a path names, by user id or external id."""
    if "user_id" in match_info:
        return CustomerRef(user_id=_bounded(match_info["user_id"], "user_id"))
    return CustomerRef(external_id=_bounded(match_info["external_id"], "external_id"))


def offer_id(match_info: Mapping[str, str]) -> int:
    """The offer a create path names; one that cannot exist is simply not available."""
    raw = match_info["offer_id"]
    if not is_id(raw):
        raise UnknownOffer()
    return int(raw)


def order_id(raw: str) -> int:
    """An order id from a path; one that cannot exist is not found."""
    if not is_id(raw):
        raise UnknownOrder(raw[:40])
    return int(raw)


def order_ref(match_info: Mapping[str, str]) -> OrderRef:
    """The order an update path names, by order id or external order id."""
    if "order_id" in match_info:
        return OrderRef(order_id=order_id(match_info["order_id"]))
    name = "external_order_id"
    return OrderRef(external_id=_bounded(match_info[name], name))


def named_order(match_info: Mapping[str, str]) -> OrderRef | None:
    """The order a get/update path names, parsed once per call, or None when no store can
    hold it (then `order_ref` / `order_id` raise the error the call answers)."""
    raw = match_info.get("order_id")
    if raw is not None:
        return OrderRef(order_id=int(raw)) if is_id(raw) else None
    external = match_info.get("external_order_id")
    if external is None or len(external) > MAX_ID_LENGTH or "\x00" in external:
        return None
    return OrderRef(external_id=external)


def json_body(raw: bytes) -> Any:
    """The decoded JSON body; None when the body is empty or blank.

    The bytes decide the encoding, not the Content-Type header (whose charset and casing
    clients vary, docs/clients.md): UTF-8, with or without a byte order mark, or UTF-16/32
    recognised by their BOM or zero bytes (RFC 4627 section 3, as `json.detect_encoding`).
    """
    encoding = json.detect_encoding(raw)
    try:
        text: bytes | str = raw if encoding == "utf-8" else raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RequestError(
            ErrorCode.ARGUMENT_ERROR, f"The request body is not {encoding}."
        ) from exc
    if not text.strip():
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, "The request body is not valid JSON.") from exc


def place_order(match_info: Mapping[str, str], offer: int, body: Any) -> PlaceOrder:
    """The create command: the customer from the path, the order details from the body.

    A NUL in any string of the body is refused here, on every engine alike: the order's
    strings are stored, and PostgreSQL text cannot hold a NUL.
    """
    customer = customer_ref(match_info)
    if _has_nul(body):
        raise RequestError(ErrorCode.ARGUMENT_ERROR, "The request body contains a NUL character.")
    return place_order_from_wire(body, customer, offer)


def _bounded(value: str, name: str) -> str:
    """A text id from a path, refused before any store sees it when no store could hold it:
    longer than the column, or with a NUL (PostgreSQL text cannot hold one)."""
    if len(value) > MAX_ID_LENGTH:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, f"{name} is too long.", name)
    if "\x00" in value:
        raise RequestError(ErrorCode.ARGUMENT_ERROR, f"{name} contains a NUL character.", name)
    return value


def _has_nul(document: Any) -> bool:
    """A NUL in any string (key or value) of a decoded JSON document.

    orjson writes a NUL as the escape `\\u0000`, so a document whose JSON has no such text
    holds none: that answers almost every body in one C call. Only a document whose JSON has
    it (a NUL, or a backslash followed by `u0000`) or that orjson cannot write (nested deeper
    than it writes) is walked, without recursion (orjson reads nesting deeper than Python's
    recursion limit)."""
    try:
        if b"\\u0000" not in orjson.dumps(document):
            return False
    except orjson.JSONEncodeError:
        pass
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False
