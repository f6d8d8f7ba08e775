"""JSON responses in the legacy envelope, rendered with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bridge.canonical import ErrorCode
from mappings.errors import LEGACY_HTTP_STATUS
from mappings.legacy.order import error_envelope


def json_response(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


def error_response(code: ErrorCode, message: str) -> web.Response:
    return json_response(error_envelope(code, message), LEGACY_HTTP_STATUS[code])
