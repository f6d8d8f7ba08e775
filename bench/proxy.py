"""Arm C: the thinnest aiohttp passthrough proxy (the Python floor of a proxy hop).

One pooled `ClientSession` to the upstream; method, path, query and body are forwarded, the
upstream's status, content type and body are answered. No logging, metrics or parsing.
Run: python bench/proxy.py --port 9000 --upstream http://127.0.0.1:9100

Arm C3 (`--sequence calls.json`): each request makes, one after the other, the upstream calls
a create makes (a JSON list of [method, path, body]) and answers the last one's body: the
floor of a create that needs those round trips.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from bridge.runtime.collector import settle_after_start

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)
SEQUENCE = web.AppKey("sequence", list)
JSON = {"Content-Type": "application/json"}


async def forward(request: web.Request) -> web.Response:
    body = await request.read()
    session = request.app[SESSION]
    async with session.request(
        request.method,
        request.app[UPSTREAM] + request.path_qs,
        data=body or None,
        headers={"Content-Type": request.content_type},
    ) as upstream:
        payload = await upstream.read()
        return web.Response(
            status=upstream.status, body=payload, content_type=upstream.content_type
        )


async def forward_sequence(request: web.Request) -> web.Response:
    await request.read()
    session, base = request.app[SESSION], request.app[UPSTREAM]
    status, payload, content_type = 502, b"", "application/json"
    for method, path, body in request.app[SEQUENCE]:
        async with session.request(method, base + path, data=body or None, headers=JSON) as up:
            status, payload, content_type = up.status, await up.read(), up.content_type
    return web.Response(status=status, body=payload, content_type=content_type)


def build(upstream: str, sequence: Path | None = None) -> web.Application:
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")
    if sequence is not None:
        app[SEQUENCE] = json.loads(sequence.read_text())

    async def session(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        app[SESSION] = aiohttp.ClientSession(connector=connector)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)

    async def settled(_app: web.Application) -> None:  # the bridge's collector settings
        settle_after_start()

    app.on_startup.append(settled)
    app.router.add_route("*", "/{tail:.*}", forward if sequence is None else forward_sequence)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--sequence", type=Path, help="C3: the upstream calls of one create")
    args = parser.parse_args()
    web.run_app(build(args.upstream, args.sequence), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
