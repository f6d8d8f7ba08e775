"""Parsing a create's body: a NUL anywhere is refused, and only a NUL."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.canonical import CustomerRef
from bridge.errors import RequestError
from bridge.legacy.parsing import json_body, place_order

USER = {"user_id": "demo-user-1"}
REFUSED = "The request body contains a NUL character."


def nested(depth: int, leaf: Any) -> Any:
    """`leaf` inside `depth` lists (deeper than orjson writes: 255)."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize(
    "extra",
    [
        {"note": "\x00"},
        {"\x00": 1},
        {"note": ["x", {"deep": "a\x00"}]},
        {"note": nested(600, "\x00")},
        {"note": ["\\u0000", "\x00"]},
    ],
)
def test_a_nul_anywhere_in_the_body_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(RequestError, match=REFUSED):
        place_order(USER, 1, {"order": {"quantity": 1, **extra}})


@pytest.mark.parametrize(
    "extra",
    [
        {"note": "\\u0000"},  # a backslash and "u0000": JSON text, not a NUL
        {"note": nested(600, "text")},
        {"note": 2**70},  # an integer orjson does not write
    ],
)
def test_a_body_without_a_nul_is_read(extra: dict[str, Any]) -> None:
    command = place_order(USER, 1, {"order": {"quantity": 2, **extra}})
    assert (command.customer, command.quantity) == (CustomerRef(user_id="demo-user-1"), 2)


def test_an_escaped_nul_in_the_bytes_is_refused() -> None:
    with pytest.raises(RequestError, match=REFUSED):
        place_order(USER, 1, json_body(b'{"order": {"quantity": 1, "ip": "1.2.3.4\\u0000"}}'))
