"""Arm C: the thinnest aiohttp passthrough proxy (the Python floor of a proxy hop).

One pooled `ClientSession` to the upstream; method, path, query and body are forwarded, the
upstream's status, content type and body are answered. No logging, metrics or parsing.
Run: python bench/proxy.py --port 9000 --upstream http://127.0.0.1:9100
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


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


def build(upstream: str) -> web.Application:
    app = web.Application()
    app[UPSTREAM] = upstream.rstrip("/")

    async def session(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        app[SESSION] = aiohttp.ClientSession(connector=connector)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    web.run_app(build(args.upstream), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
