"""How clients encode a create body: charsets, headers, byte order marks, nulls everywhere.

Parsing happens before any target is chosen, so these run on the local target only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clients import csharp
from tests.legacy_api import LegacyApi

PATH = "/priv/v1/apps/demo-api-key/users/demo-user-1/offers/1/orders"
BODY = {"order": {"quantity": 1, "email": "", "ip": "198.51.100.7", "note": "caf\u00e9"}}
TEXT = json.dumps(BODY, ensure_ascii=False)


async def send(api: LegacyApi, raw: bytes, content_type: str | None = csharp.CONTENT_TYPE) -> Any:
    headers = dict(api.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return await api.as_caller(**headers).call("POST", PATH, raw)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "Application/JSON; Charset=utf-8",
        'application/json;charset="utf-8"',
        "application/json",
        "text/plain",
        None,
    ],
)
async def test_the_content_type_and_its_charset_change_nothing(
    api: LegacyApi, content_type: str | None
) -> None:
    answer = await send(api, TEXT.encode(), content_type)
    assert answer.order["quantity"] == 1


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        ("utf-8-sig", csharp.CONTENT_TYPE),
        ("utf-16", "application/json; charset=utf-16"),
        ("utf-16-le", "application/json; charset=utf-16le"),
        ("utf-16-be", "application/json; charset=utf-16be"),
        ("utf-32", "application/json; charset=utf-32"),
    ],
)
async def test_a_bom_or_a_utf_16_32_body_is_read(
    api: LegacyApi, encoding: str, content_type: str
) -> None:
    assert (await send(api, TEXT.encode(encoding), content_type)).order["quantity"] == 1


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
async def test_indented_json_with_any_line_break_is_read(api: LegacyApi, newline: str) -> None:
    raw = json.dumps(BODY, indent=4).replace("\n", newline).encode()
    assert (await send(api, raw + newline.encode())).order["quantity"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode("latin-1"),
        b"\xff\xfe{\x00\x22",
        b'{"order": {"email": "\xc3"}}',
    ],
    ids=["latin-1", "broken-utf-16", "truncated-utf-8"],
)
async def test_a_body_that_is_no_unicode_json_is_an_argument_error(
    api: LegacyApi, raw: bytes
) -> None:
    assert (await send(api, raw)).code == "argument_error"


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbf", b"\xef\xbb\xbf \r\n", "".encode("utf-16")])
async def test_a_body_of_only_a_bom_is_no_body(api: LegacyApi, raw: bytes) -> None:
    assert (await send(api, raw)).code == "missing_data"


async def test_a_body_with_every_optional_field_null_is_read(api: LegacyApi) -> None:
    """Jackson's default ObjectMapper (the Java SDK) writes unset fields as null."""
    order = {
        name: None
        for name in ("quantity", "email", "ip", "shipping_address", "challenge", "status")
    }
    answer = await send(api, json.dumps({"order": {**order, "external_id": None}}).encode())
    assert (answer.order["quantity"], answer.order["status"]) == (1, "approved")


@pytest.mark.parametrize("blank", ["", " ", "\t", "\r\n", " \t\r\n ", None])
@pytest.mark.parametrize("field", ["email", "ip", "status", "external_id", "quantity"])
async def test_every_optional_field_not_given_is_absent(
    api: LegacyApi, field: str, blank: str | None
) -> None:
    answer = await api.create(offer=1, **{field: blank})
    assert (answer.order["quantity"], answer.order["status"]) == (1, "approved")
    assert "external_id" not in answer.order


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"quantity": {}}, "order.quantity"),
        ({"email": {}}, "order.email"),
        ({"ip": []}, "order.ip"),
        ({"status": {}}, "order.status"),
        ({"external_id": 7}, "order.external_id"),
        ({"challenge": {"id": {}}}, "order.challenge.id"),
        ({"challenge": "111111"}, "order.challenge"),
        ({"shipping_address": {"city": {}}}, "order.shipping_address.city"),
    ],
)
async def test_a_value_of_the_wrong_type_is_still_refused(
    api: LegacyApi, order: dict[str, Any], field: str
) -> None:
    answer = await api.create(offer=1, body={"order": order})
    assert (answer.code, answer.message.split(":")[0]) == ("validation", field)


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\x1c", "\ufeff"])
@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("email", "validation"),
        ("quantity", "validation"),
        ("status", "invalid_request_order_status"),
        ("ip", "validation"),
    ],
)
async def test_a_space_that_is_not_json_whitespace_is_a_value(
    api: LegacyApi, space: str, field: str, code: str
) -> None:
    """Only JSON's whitespace makes a string blank; the OpenAPI patterns say the same."""
    assert (await api.create(offer=1, **{field: space})).code == code


@pytest.mark.parametrize("blank", ["", " ", "\t", "\r\n"])
@pytest.mark.parametrize("parameter", ["limit", "page", "after", "before", "between"])
async def test_every_list_parameter_sent_blank_is_absent(
    target_api: LegacyApi, parameter: str, blank: str
) -> None:
    """`?limit=` is "no limit given", as `"email": ""` is no email (both targets)."""
    placed = await target_api.create(offer=1)
    answer = await target_api.list(**{parameter: blank})
    assert answer.body["status"] == "ok", answer.body
    assert placed.order["id"] in answer.ids


@pytest.mark.parametrize(("limit", "shown"), [(" 1 ", 1), ("\t2", 2)])
async def test_a_list_number_between_json_whitespace_is_read(
    api: LegacyApi, limit: str, shown: int
) -> None:
    for _ in range(3):
        await api.create(offer=1)
    assert len((await api.list(limit=limit)).ids) == shown


@pytest.mark.parametrize("limit", ["\u00a0", "1\u00a0", "+1", "0", "1.0", "one"])
async def test_a_list_number_that_is_given_and_wrong_is_still_refused(
    api: LegacyApi, limit: str
) -> None:
    assert (await api.list(limit=limit)).code == "argument_error"
