"""`python -m bridge serve` in a subprocess on a free port, as an operator runs it.

Shared by the tests that need a real process (crash consistency, shutdown, fuzzing): start
waits for /readyz, stop sends SIGTERM, kill sends SIGKILL; the output goes to a log file that
an assertion shows when the server does not come up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.conftest import ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, env: dict[str, str], log: Path, stop_seconds: float = 60) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._stop_seconds = stop_seconds
        self._env = os.environ | {
            "BRIDGE_HOST": "127.0.0.1",
            "BRIDGE_PORT": str(self.port),
            "BRIDGE_LOG_FORMAT": "json",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the server (again, after a stop or kill) and wait until it is ready."""
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge",
                "serve",
                env=self._env,
                cwd=ROOT,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        async with aiohttp.ClientSession() as session:
            for _ in range(300):  # up to 30 s for a cold interpreter on a busy machine
                assert self.process.returncode is None, self.log.read_text()
                try:
                    async with session.get(f"{self.base}/readyz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the server did not become ready:\n{self.log.read_text()}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown sequence, requests in flight are cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM and wait for the exit (the graceful shutdown sequence)."""
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), self._stop_seconds)
