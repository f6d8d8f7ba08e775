"""Open-loop load: requests scheduled at a fixed rate, latency measured from the schedule.

Request i is due at start + i / rate whatever happened to earlier ones; its latency runs from
that due time to the last byte of its answer, so a stalled server is charged for the requests
queued behind the stall (no coordinated omission). A raw asyncio HTTP/1.1 client over
keep-alive connections keeps the generator's own cost small (about 30 us a request).

Run: python bench/openloop.py --url http://127.0.0.1:8080 --rate 1000 --duration 10 \
         --path /a --path /b [--method POST --body '{...}'] [--header 'Authorization: ...']
Prints one JSON object: the rate asked and achieved, errors and latency percentiles in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class Connection:
    """One keep-alive HTTP/1.1 connection: send a prepared request, read one answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


def prepare(host: str, method: str, paths: list[str], body: str, headers: list[str]) -> list[bytes]:
    """One ready-to-send request per path (a round robin over them spreads customers)."""
    payload = body.encode()
    extra = "".join(f"{header}\r\n" for header in headers)
    requests = []
    for path in paths:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
        if payload:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        requests.append(head.encode() + b"\r\n" + payload)
    return requests


class OpenLoop:
    def __init__(self, host: str, port: int, requests: list[bytes], max_connections: int) -> None:
        self.host = host
        self.port = port
        self.requests = requests
        self.max_connections = max_connections
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.opened = 0
        self.tally = Tally()

    async def connection(self) -> Connection:
        if self.idle.empty() and self.opened < self.max_connections:
            self.opened += 1
            reader, writer = await asyncio.open_connection(self.host, self.port)
            return Connection(reader, writer)
        return await self.idle.get()

    async def one(self, index: int, due: float, measured: bool) -> None:
        connection = await self.connection()
        try:
            status = await connection.exchange(self.requests[index % len(self.requests)])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.opened -= 1
            self.tally.errors += measured
            return
        self.idle.put_nowait(connection)
        if measured:
            self.tally.latencies.append(time.perf_counter() - due)
            self.tally.statuses[status] = self.tally.statuses.get(status, 0) + 1

    async def run(self, rate: float, duration: float, warmup: float) -> float:
        """Schedule requests for warmup + duration seconds; the measured window's length."""
        tasks = set()
        start = time.perf_counter()
        total = int((warmup + duration) * rate)
        skip = int(warmup * rate)
        index = 0
        while index < total:
            now = time.perf_counter()
            while index < total and start + index / rate <= now:
                task = asyncio.create_task(self.one(index, start + index / rate, index >= skip))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                index += 1
            if index < total:
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        return time.perf_counter() - (start + warmup)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summary(loop: OpenLoop, rate: float, elapsed: float) -> dict[str, object]:
    values = sorted(loop.tally.latencies)
    ms = {
        f"p{label}_ms": round(percentile(values, fraction) * 1000, 3)
        for label, fraction in (("50", 0.5), ("90", 0.9), ("99", 0.99), ("999", 0.999))
    }
    return {
        "rate": rate,
        "achieved": round(len(values) / elapsed, 1) if elapsed > 0 else 0.0,
        "count": len(values),
        "errors": loop.tally.errors,
        "statuses": {str(code): count for code, count in loop.tally.statuses.items()},
        "connections": loop.opened,
        **ms,
        "max_ms": round(values[-1] * 1000, 3) if values else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--max-connections", type=int, default=256)
    args = parser.parse_args()
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = prepare(f"{host}:{port}", args.method, args.path, args.body, args.header)
    loop = OpenLoop(host, port, requests, args.max_connections)
    elapsed = asyncio.run(loop.run(args.rate, args.duration, args.warmup))
    print(json.dumps(summary(loop, args.rate, elapsed)))


if __name__ == "__main__":
    main()
