"""A fault-injecting proxy: a real aiohttp server in front of a real upstream, badly on cue.

`FaultyUpstream(target_url)` forwards every call to `target_url` (an Incentives sandbox or a
legacy stand-in) unless a `Fault` applies to it. A fault can act before the call reaches the
target (nothing commits) or after it (the target committed, the answer is lost or spoiled).
It is a real server on a real port, so the bridge's real client, timeouts, retries and breaker
meet it exactly as they would meet a failing upstream in production.

Tests set its faults in process (`inject`); a person sets them over HTTP on the proxy itself
(`make rehearse` starts one in front of the sandbox, docs/rehearsal.md):

    curl -X PUT -d '[{"kind": "status", "status": 503}]' "$FAULTS_URL/_faults"   # 503 to all
    curl -X PUT -d '[{"kind": "latency", "delay": 2}]' "$FAULTS_URL/_faults"     # 2 s late
    curl -X PUT -d '[]' "$FAULTS_URL/_faults"                                     # healthy

`PUT /_faults` takes a list of faults (the fields of `Fault`; `kind` one of `Kind`) and
answers the list now active; `GET /_faults` answers it. Run it with
`python -m bridge.sandbox.faults --port PORT --target URL`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import aiohttp
import orjson
from aiohttp import web
from multidict import CIMultiDict


class Kind(StrEnum):
    LATENCY = "latency"
    """Answer correctly after `delay` (+ up to `jitter`) seconds."""
    STATUS = "status"
    """Answer `status` (500, 502, 503, 429...) with `Retry-After` when given."""
    RESET = "reset"
    """Close the connection without an answer."""
    HANG = "hang"
    """Never answer (until the server stops or `delay` passes)."""
    TRUNCATED = "truncated"
    """Announce the full body, send half of it, close."""
    INVALID_JSON = "invalid_json"
    """A 200 whose body is not JSON."""
    SLOW_BODY = "slow_body"
    """Send the headers, then the body a few bytes every `delay` seconds."""


@dataclass
class Fault:
    kind: Kind
    path: str = ""
    """Only calls whose path ends with this (all calls when empty)."""
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    jitter: float = 0.0
    percent: float = 100.0
    """The share of matching calls that fail (a seeded draw, so a run repeats)."""
    after_commit: bool = False
    """Forward to the target first (it commits), then spoil the answer."""
    times: int | None = None
    """Fail only this many matching calls (None: all)."""


CONTROL = "/_faults"
"""The proxy's own route (never forwarded): GET the active faults, PUT a new list."""


class FaultsRefused(ValueError):
    """A PUT /_faults body that is not a list of faults (the message says what is wrong)."""


def parse_faults(body: bytes) -> list[Fault]:
    """The faults of a PUT /_faults body: a JSON list of objects with `Fault`'s fields."""
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FaultsRefused(f"not JSON: {exc}") from exc
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FaultsRefused('expected a list of faults, e.g. [{"kind": "status"}]')
    faults = []
    for item in items:
        if unknown := sorted(set(item) - set(_FIELD_TYPES)):
            raise FaultsRefused(f"unknown fields {unknown}; known: {sorted(_FIELD_TYPES)}")
        kind = item.get("kind")
        if not isinstance(kind, str) or kind not in set(Kind):
            raise FaultsRefused(f"kind must be one of {[k.value for k in Kind]}")
        for name, value in item.items():
            if not isinstance(value, _FIELD_TYPES[name]) or isinstance(value, bool) != (
                _FIELD_TYPES[name] == (bool,)
            ):
                raise FaultsRefused(f"{name}: {value!r} is not of the right type")
        faults.append(Fault(**{**item, "kind": Kind(kind)}))
    return faults


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "path": (str,),
    "status": (int,),
    "retry_after": (str, type(None)),
    "delay": (int, float),
    "jitter": (int, float),
    "percent": (int, float),
    "after_commit": (bool,),
    "times": (int, type(None)),
}
"""The JSON types of `Fault`'s fields, as PUT /_faults accepts them."""


def _described(faults: Sequence[Fault]) -> web.Response:
    return web.json_response([asdict(fault) for fault in faults])


@dataclass
class Tally:
    calls: int = 0
    faults: int = 0
    in_flight: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class FaultyUpstream:
    def __init__(self, target_url: str, seed: int = 9) -> None:
        self.target_url = target_url.rstrip("/")
        self.url = ""
        """Where the proxy itself listens (set once it is started)."""
        self.faults: list[Fault] = []
        self.tally = Tally()
        self._random = random.Random(seed)  # noqa: S311 - a repeatable draw of which calls fail
        self._released = asyncio.Event()
        self._arrived = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get(CONTROL, self._show_faults)
        app.router.add_put(CONTROL, self._set_faults)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_startup.append(self._open)
        app.on_shutdown.append(self._release)
        app.on_cleanup.append(self._close)
        return app

    def inject(self, *faults: Fault) -> None:
        """Replace the active faults (none: a healthy proxy)."""
        self.faults = list(faults)

    async def _show_faults(self, _request: web.Request) -> web.Response:
        return _described(self.faults)

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            self.inject(*parse_faults(await request.read()))
        except FaultsRefused as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return _described(self.faults)

    async def until_in_flight(self, count: int) -> None:
        """Return once `count` calls are being held here at the same time."""
        while self.tally.in_flight < count:
            self._arrived.clear()
            await self._arrived.wait()

    async def _open(self, _app: web.Application) -> None:
        self._released.clear()  # started again after a stop
        self._session = aiohttp.ClientSession(auto_decompress=False)

    async def _release(self, _app: web.Application) -> None:
        self._released.set()

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _choose(self, path: str) -> Fault | None:
        for fault in self.faults:
            if not path.endswith(fault.path) or fault.times == 0:
                continue
            if self._random.uniform(0, 100) >= fault.percent:
                return None
            if fault.times is not None:
                fault.times -= 1
            return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.tally.calls += 1
        self.tally.by_path[request.path] = self.tally.by_path.get(request.path, 0) + 1
        self.tally.in_flight += 1
        self._arrived.set()
        try:
            fault = self._choose(request.path)
            if fault is None:
                return await self._forward(request)
            self.tally.faults += 1
            return await self._misbehave(request, fault)
        finally:
            self.tally.in_flight -= 1

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        headers = CIMultiDict(
            (name, value)
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type", "accept", "idempotency-key")
        )
        async with self._session.request(
            request.method,
            self.target_url + request.raw_path,
            data=await request.read() or None,
            headers=headers,
        ) as answer:
            body = await answer.read()
            content_type = answer.headers.get("Content-Type", "application/json")
            return web.Response(
                body=body, status=answer.status, headers={"Content-Type": content_type}
            )

    async def _misbehave(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        answer = await self._forward(request) if fault.after_commit else None
        if fault.kind is Kind.LATENCY:
            await self._wait(fault.delay + self._random.uniform(0, fault.jitter))
            return answer or await self._forward(request)
        if fault.kind is Kind.STATUS:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            body = b'{"status":"error","errors":{"code":"unavailable","message":"injected"}}'
            return web.Response(
                body=body, status=fault.status, headers=headers, content_type="application/json"
            )
        if fault.kind is Kind.HANG:
            await self._wait(fault.delay or 3600.0)
            return web.Response(status=504)
        if fault.kind is Kind.INVALID_JSON:
            return web.Response(body=b"<html>upstream proxy error", content_type="application/json")
        return await self._broken_stream(request, fault, answer)

    async def _broken_stream(
        self, request: web.Request, fault: Fault, answer: web.Response | None
    ) -> web.StreamResponse:
        transport = request.transport
        assert transport is not None
        if fault.kind is Kind.RESET:
            transport.abort()
            return web.Response()
        body = answer.body if answer is not None else b'{"status":"ok","payload":{"x":1}}'
        assert isinstance(body, bytes)
        stream = web.StreamResponse(headers={"Content-Type": "application/json"})
        stream.content_length = len(body)
        await stream.prepare(request)
        if fault.kind is Kind.TRUNCATED:
            await stream.write(body[: len(body) // 2])
            transport.abort()
            return stream
        for start in range(0, len(body), 8):  # SLOW_BODY
            await stream.write(body[start : start + 8])
            await self._wait(fault.delay)
        await stream.write_eof()
        return stream

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake when the server shuts down (a hanging call must not stall it)."""
        try:
            await asyncio.wait_for(self._released.wait(), timeout=seconds)
        except TimeoutError:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridge.sandbox.faults", description="a fault-injecting proxy"
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--target", required=True, help="the upstream's base URL")
    args = parser.parse_args(argv)
    proxy = FaultyUpstream(args.target)
    proxy.url = f"http://{args.host}:{args.port}"
    web.run_app(proxy.app(), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
