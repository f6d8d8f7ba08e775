"""The legacy surface's OpenAPI document as a test oracle: every answer is held to it.

A response to a documented operation must match that operation's response for its status
(openapi-core). A path or method the document does not have must answer 404 or 405 with the
legacy error envelope (jsonschema against `components.schemas.ErrorEnvelope`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

DOCUMENT_FILE = Path(__file__).resolve().parent.parent / "bridge" / "legacy" / "openapi.json"
UNROUTED_STATUSES = frozenset({404, 405})


def read_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT_FILE.read_bytes())
    return document


@dataclass(frozen=True)
class SentRequest:
    """What openapi-core needs to know of a request to find its operation."""

    method: str
    path: str
    host_url: str = "http://127.0.0.1"
    body: bytes | None = None
    content_type: str = "application/json"
    parameters: RequestParameters = field(
        default_factory=lambda: RequestParameters(
            query=ImmutableMultiDict(), header=Headers(), cookie=ImmutableMultiDict()
        )
    )


@dataclass(frozen=True)
class ReceivedResponse:
    status_code: int
    data: bytes
    content_type: str
    headers: Headers


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self._openapi = OpenAPI.from_dict(document)
        self._envelope = Draft202012Validator(
            {**document, "$ref": "#/components/schemas/ErrorEnvelope"}
        )

    def check(self, method: str, path: str, response: ReceivedResponse) -> None:
        """Raise unless `response` is what the document promises for `method path`."""
        try:
            self._openapi.validate_response(SentRequest(method.lower(), path), response)
        except (PathNotFound, OperationNotFound):
            assert response.status_code in UNROUTED_STATUSES, response.status_code
            self._envelope.validate(json.loads(response.data))
