"""The opt-in recorder: sampled legacy requests, redacted, appended to a JSON-lines file.

One line per recorded call: `{"app", "operation", "method", "path", "body"}`. The api key in
the path becomes `{api_key}`; emails and IP addresses in the path and query become `[email]`
and `[ip]`; sensitive body fields (email, ip, address, names) become `[redacted]`. No header
is recorded, so no credential ever is. `orders-bridge replay FILE` reads these lines.

Writes happen on one background task (a bounded queue; full: the line is dropped), so a
slow disk never delays an answer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

import orjson
import structlog

from bridge.observability.redaction import redact_text
from bridge.shadow.exchange import Exchange
from bridge.shadow.masking import mask_document

API_KEY_PLACEHOLDER = "{api_key}"
SAFE = "!$&'()*+,;=:@-._~"
"""Characters a path segment keeps unencoded (RFC 3986 pchar)."""

log = structlog.get_logger()


def redacted_path(raw_path: str, api_key: str) -> str:
    """The path and query with the api key replaced and emails/IPs masked (each segment
    decoded, masked and encoded again, so `%2F` inside an id stays one segment)."""
    path, _, query = raw_path.partition("?")
    segments = [
        API_KEY_PLACEHOLDER
        if unquote(part) == api_key
        else quote(redact_text(unquote(part)), safe=SAFE)
        for part in path.split("/")
    ]
    pairs = [(name, redact_text(value)) for name, value in parse_qsl(query, keep_blank_values=True)]
    return "/".join(segments) + (f"?{urlencode(pairs)}" if pairs else "")


def record_line(exchange: Exchange) -> dict[str, Any]:
    body: Any = None
    if exchange.body.strip():
        try:
            body = mask_document(orjson.loads(exchange.body))
        except orjson.JSONDecodeError:
            body = "[unparsed]"
    return {
        "app": exchange.app.name,
        "operation": exchange.operation.value,
        "method": exchange.method,
        "path": redacted_path(exchange.raw_path, exchange.app.api_key),
        "body": body,
    }


class Recorder:
    def __init__(
        self,
        path: Path,
        rate: float,
        sample: Callable[[], float] = random.random,
        queue_size: int = 1000,
    ) -> None:
        self._path = path
        self._rate = rate
        self._sample = sample
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None

    def offer(self, exchange: Exchange) -> None:
        if self._sample() >= self._rate:
            return
        try:
            self._queue.put_nowait(orjson.dumps(record_line(exchange)) + b"\n")
        except asyncio.QueueFull:
            log.info("request_recording_dropped")

    def start(self) -> None:
        self._task = asyncio.create_task(self._write())

    async def stop(self) -> None:
        await self._queue.join()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _write(self) -> None:
        while True:
            line = await self._queue.get()
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                log.warning("request_recording_failed", error=exc.strerror)
            finally:
                self._queue.task_done()

    def _append(self, line: bytes) -> None:
        with self._path.open("ab") as file:
            file.write(line)
