"""The OpenAPI 3.1 document of the legacy surface (bridge/legacy/openapi.json), served as is.

The document is the contract the tests hold every legacy response to; it is read once, when
the routes are added, and served without authentication.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

DOCUMENT = web.AppKey("openapi_document", bytes)
DOCUMENT_PATH = "/openapi.json"


def read_document() -> bytes:
    return resources.files("bridge.legacy").joinpath("openapi.json").read_bytes()


def add_document_route(app: web.Application) -> None:
    app[DOCUMENT] = read_document()
    app.router.add_get(DOCUMENT_PATH, serve_document)


async def serve_document(request: web.Request) -> web.Response:
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")
