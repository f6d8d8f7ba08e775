"""The stub upstream: real Incentives answers recorded once, then served by nginx `return 200`.

`record` is a tiny forwarding proxy put between a bridge and the Incentives sandbox
(`orders-bridge sandbox`): each exchange is appended to a JSON-lines file. `stub_conf` turns
those exchanges into an nginx config answering each path with its recorded body, so every arm
talks to the same upstream whose answers are realistic payloads at nginx speed.
Run: python bench/stub.py --port 9000 --upstream http://127.0.0.1:8081 --out exchanges.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
HEADERS = ("Authorization", "Content-Type")


def recorder(upstream: str, out: Path) -> web.Application:
    app = web.Application()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name: request.headers[name] for name in HEADERS if name in request.headers}
        async with app[SESSION].request(
            request.method, upstream + request.path_qs, data=body or None, headers=headers
        ) as answer:
            payload = await answer.read()
        line = {"method": request.method, "path": request.path, "status": answer.status}
        line["body"] = payload.decode()
        line["request"] = body.decode()
        with out.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")
        return web.Response(status=answer.status, body=payload, content_type="application/json")

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession()
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def read_exchanges(path: Path) -> dict[str, str]:
    """The last successful answer body per path."""
    answers = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        exchange = json.loads(line)
        if 200 <= exchange["status"] < 300:
            answers[exchange["path"]] = exchange["body"]
    return answers


def _quoted(body: str) -> str:
    """An nginx single-quoted string; `$` goes through the `$dollar` variable."""
    escaped = body.replace("\\", "\\\\").replace("'", "\\'").replace("$", "${dollar}")
    return f"'{escaped}'"


def _common(work: Path, name: str) -> str:
    return f"""daemon off;
worker_processes 1;
pid {work}/{name}.pid;
events {{ worker_connections 4096; }}
"""


def _http_head(work: Path, name: str) -> str:
    temp = work / f"{name}-temp"
    temp.mkdir(exist_ok=True)
    paths = " ".join(
        f"{kind}_temp_path {temp}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    paths += f" uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;"
    return f"""access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    {paths}
    geo $dollar {{ default "$"; }}"""


def stub_conf(work: Path, servers: dict[int, dict[str, str]]) -> str:
    """nginx answering each port's paths with their bodies (404 envelope elsewhere)."""
    blocks = []
    for port, answers in servers.items():
        locations = "\n".join(
            f"        location = {path} {{ return 200 {_quoted(body)}; }}"
            for path, body in sorted(answers.items())
        )
        missing = '{"status":"error","errors":{"code":"not_found","message":"stub"}}'
        blocks.append(f"""    server {{
        listen 127.0.0.1:{port} reuseport;
        default_type application/json;
{locations}
        location / {{ return 404 '{missing}'; }}
    }}""")
    servers_text = "\n".join(blocks)
    return f"""{_common(work, "stub")}http {{
    {_http_head(work, "stub")}
{servers_text}
}}
"""


def proxy_conf(work: Path, port: int, upstream_port: int) -> str:
    """Arm B: nginx proxy_pass to the stub over a keep-alive pool."""
    return f"""{_common(work, "B")}http {{
    {_http_head(work, "B")}
    upstream stub {{ server 127.0.0.1:{upstream_port}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://stub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    app = recorder(args.upstream.rstrip("/"), args.out)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
