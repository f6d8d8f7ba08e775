"""CPU of one Incentives client hop against a bare aiohttp call, in one process, side by side.

A stub in its own process (raw asyncio, one fixed keep-alive answer: a recorded `all_balances`
envelope) answers both arms, so only the client's side is timed:

- `bare`: what bench/proxy.py's C arm does per request on the client side: one POST on a
  pooled `ClientSession` with the body as bytes, the answer read;
- `send`: `Tenant.send(all_balances.CALL, user_id=...)`: the bridge's whole hop (body mapping,
  breaker, timeouts, envelope, metrics, the response mapping) with metrics on, inside a call's
  facts as on a request.

Calls run one after another (no concurrency); each arm's figure is process CPU (user + system)
per call, the best of `--repeats` rounds of `--calls`, the arms interleaved.
`--profile send` prints cProfile's top functions of that arm instead.
Run: .venv/bin/python bench/client_hop.py [--calls 5000] [--repeats 5] [--profile send]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path

import aiohttp
import orjson
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.clock import SystemClock
from bridge.incentives.client import UpstreamClient
from bridge.incentives.config import IncentivesConfig
from bridge.incentives.tenant import Tenant
from bridge.observability.context import begin_call
from bridge.observability.metrics import Metrics
from mappings.incentives import all_balances

PAYLOAD = {
    "status": "ok",
    "payload": {
        "summary": {"total_points": 9900, "life_time_points": 10000},
        "details": [
            {
                "point_account_id": "pa-demo-user-1",
                "account_name": "Points",
                "available_balance": 9900,
                "pending_balance": 0,
                "life_time_balance": 10000,
            }
        ],
    },
}

STUB = """
import asyncio, sys
BODY = sys.argv[2].encode()
ANSWER = (b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
          + str(len(BODY)).encode() + b"\\r\\n\\r\\n" + BODY)
class Stub(asyncio.Protocol):
    def connection_made(self, transport): self.t, self.buf = transport, b""
    def data_received(self, data):
        self.buf += data
        while True:
            head, sep, rest = self.buf.partition(b"\\r\\n\\r\\n")
            if not sep: return
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"): length = int(line[15:])
            if len(rest) < length: return
            self.buf = rest[length:]
            self.t.write(ANSWER)
async def main():
    server = await asyncio.get_running_loop().create_server(Stub, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for(port: int) -> None:
    for _ in range(200):
        with suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.02)
    raise SystemExit("the stub did not start")


def cpu_per_call(
    calls: int, one: Callable[[], Awaitable[object]]
) -> Callable[[], Awaitable[float]]:
    async def measure() -> float:
        started = time.process_time()
        for _ in range(calls):
            await one()
        return (time.process_time() - started) / calls * 1e6

    return measure


async def run(args: argparse.Namespace, port: int) -> None:
    await wait_for(port)
    url = f"http://127.0.0.1:{port}"
    config = IncentivesConfig(
        base_url=url,
        connect_key="bench-key",
        connect_secret="bench-secret",  # noqa: S106 (the stub checks nothing)
        core_api_key="bench-core",
        core_api_secret="bench-core-secret",  # noqa: S106
        retailer_id="retailer-1",
    )
    metrics = Metrics(CollectorRegistry())
    client = UpstreamClient(url, config.retry, config.breaker, metrics=metrics)
    tenant = Tenant("bench", config, (client, client), SystemClock(), metrics)
    await client.open()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    body = orjson.dumps({"retailer_id": "retailer-1", "user_id": "u1", "culture": "en-US"})
    headers = {"Content-Type": "application/json"}

    async def bare() -> object:
        async with session.post(url + all_balances.CALL.path, data=body, headers=headers) as up:
            return await up.read()

    async def send() -> object:
        return await tenant.send(all_balances.CALL, user_id="demo-user-1")

    begin_call()
    arms = {"bare": bare, "send": send}
    for one in arms.values():  # warm the pools and caches
        for _ in range(200):
            await one()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await cpu_per_call(args.calls, arms[args.profile])()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    else:
        best = {name: float("inf") for name in arms}
        for _ in range(args.repeats):
            for name, one in arms.items():
                best[name] = min(best[name], await cpu_per_call(args.calls, one)())
        for name, value in best.items():
            print(f"{name}: {value:.1f} us CPU per call (best of {args.repeats})")
        print(f"send - bare: {best['send'] - best['bare']:.1f} us")
    await session.close()
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", choices=("bare", "send"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    port = free_port()
    stub = subprocess.Popen([sys.executable, "-c", STUB, str(port), orjson.dumps(PAYLOAD).decode()])
    try:
        asyncio.run(run(args, port))
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
