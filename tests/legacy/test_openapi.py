"""The OpenAPI 3.1 document: valid, complete for the routes, consistent with the error tables."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import OpenAPIV31SpecValidator

from bridge.canonical import ErrorCode
from mappings.errors import LEGACY_HTTP_STATUS
from tests.contract import read_document
from tests.legacy_api import LegacyApi

ERROR_RESPONSES = {
    200: "MethodErrorEnvelope",
    401: "AuthErrorEnvelope",
    404: "NotFoundEnvelope",
    500: "InternalErrorEnvelope",
    503: "UnavailableEnvelope",
}
"""Each HTTP status the error table uses -> the schema that lists its codes."""


def _subset_codes(document: dict[str, Any], schema: str) -> set[str]:
    restriction = document["components"]["schemas"][schema]["allOf"][1]
    return set(restriction["properties"]["errors"]["properties"]["code"]["enum"])


def test_the_document_is_valid_openapi_3_1() -> None:
    document = read_document()
    assert document["openapi"].startswith("3.1.")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []


def test_the_error_code_enum_is_exactly_the_canonical_error_codes() -> None:
    enum = read_document()["components"]["schemas"]["ErrorCode"]["enum"]
    assert sorted(enum) == sorted(code.value for code in ErrorCode)


def test_each_status_lists_exactly_the_codes_the_error_table_gives_it() -> None:
    document = read_document()
    documented = {status: _subset_codes(document, name) for status, name in ERROR_RESPONSES.items()}
    expected = {
        status: {code.value for code, mapped in LEGACY_HTTP_STATUS.items() if mapped == status}
        for status in ERROR_RESPONSES
    }
    assert documented == expected


async def test_the_document_describes_every_route_the_bridge_serves(api: LegacyApi) -> None:
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in api.client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/priv/", "/openapi.json"))
        and route.method != "HEAD"
    }
    paths = read_document()["paths"]
    documented = {
        (method, path) for path, item in paths.items() for method in item if method != "parameters"
    }
    assert served == documented


async def test_the_bridge_serves_the_document_without_credentials(api: LegacyApi) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status == 200
    assert await response.json() == read_document()


async def test_a_replayed_idempotent_answer_matches_the_document(api: LegacyApi) -> None:
    keyed = api.as_caller(**dict(api.headers), **{"Idempotency-Key": "order-7f3a"})
    first = await keyed.create(offer=1)
    assert await keyed.create(offer=1) == first
