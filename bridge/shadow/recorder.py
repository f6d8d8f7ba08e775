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

import orjson
import structlog
from yarl import URL

from bridge.observability.redaction import redact_text
from bridge.shadow.exchange import Exchange
from bridge.shadow.masking import mask_document

API_KEY_PLACEHOLDER = "{api_key}"

log = structlog.get_logger()


def redacted_path(raw_path: str, api_key: str) -> str:
    """The path and query with the api key replaced and emails/IPs masked."""
    url = URL(raw_path, encoded=True)
    parts = [
        API_KEY_PLACEHOLDER if part == api_key else redact_text(part)
        for part in url.path.split("/")
    ]
    query = [(name, redact_text(value)) for name, value in url.query.items()]
    rebuilt = URL.build(path="/".join(parts), query=query or None)
    return str(rebuilt).replace("%7Bapi_key%7D", API_KEY_PLACEHOLDER)


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
