"""Just enough of the Chrome DevTools protocol to drive Debian's headless `chromium`.

The browser is started with a throw-away profile and `--remote-debugging-port=0`; the port
it picked is read from `DevToolsActivePort` in the profile. One page target is attached in
flat mode, so every command carries its `sessionId`. No browser is downloaded: the system
`chromium` is used, or the test is skipped (failed under CI=true).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def chromium_or_skip() -> str:
    """The system chromium's path; skip the test without one (fail under CI=true)."""
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


class Page:
    """One attached page: `call` sends a command and returns its result."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._reader = asyncio.create_task(self._read())
        self.session_id: str | None = None

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if self.session_id is not None:
            message["sessionId"] = self.session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        await self._socket.send_json(message)
        async with asyncio.timeout(30):
            return await future

    def event(self, method: str) -> asyncio.Event:
        return self._events.setdefault(method, asyncio.Event())

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        loaded = self.event("Page.loadEventFired")
        loaded.clear()
        await self.call("Page.navigate", url=url)
        async with asyncio.timeout(30):
            await loaded.wait()

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        async for message in self._socket:
            data = message.json()
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(RuntimeError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
            elif "method" in data:
                self.event(data["method"]).set()


@contextlib.asynccontextmanager
async def headless_page(profile: Path, width: int = 1280, height: int = 900) -> AsyncIterator[Page]:
    """Start chromium on a fresh profile and yield one attached page; stop it afterwards."""
    executable = chromium_or_skip()
    process = await asyncio.create_subprocess_exec(
        executable,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port, path = await _devtools_endpoint(profile)
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as socket,
        ):
            page = Page(socket)
            target = await page.call("Target.createTarget", url="about:blank")
            attached = await page.call(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            page.session_id = attached["sessionId"]
            await page.call("Page.enable")
            await page.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            try:
                yield page
            finally:
                await page.close()
    finally:
        process.terminate()
        await process.wait()


async def _devtools_endpoint(profile: Path) -> tuple[str, str]:
    """The port and browser path chromium wrote to DevToolsActivePort (polled, bounded)."""
    marker = profile / "DevToolsActivePort"
    for _ in range(300):
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return lines[0], lines[1]
        await asyncio.sleep(0.05)
    raise AssertionError("chromium did not open its DevTools port")
