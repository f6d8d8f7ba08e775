"""A real Prometheus on a free port with a temporary data directory, scraping one target."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.deploy.promql import RULES
from tests.prometheus_tools import PrometheusTools
from tests.server_process import free_port

SCRAPE_INTERVAL = "250ms"
STARTUP_DEADLINE_SECONDS = 60.0


def write_config(directory: Path, target: str) -> Path:
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "orders-bridge", "static_configs": [{"targets": [target]}]},
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


class Prometheus:
    """Query API of a running Prometheus."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def query(self, promql: str) -> dict[str, Any]:
        """The API's whole answer (`status`, `data` or `error`) for an instant query."""
        async with self.session.get(
            f"{self.base_url}/api/v1/query", params={"query": promql}
        ) as response:
            answer: dict[str, Any] = await response.json()
            return answer

    async def series_count(self, promql: str) -> int:
        answer = await self.query(promql)
        return len(answer["data"]["result"]) if answer["status"] == "success" else 0

    async def metric_names(self) -> set[str]:
        async with self.session.get(f"{self.base_url}/api/v1/label/__name__/values") as response:
            return set((await response.json())["data"])

    async def wait_for(self, promql: str, deadline: float = STARTUP_DEADLINE_SECONDS) -> None:
        """Poll until the query returns a series (fails after `deadline` seconds)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + deadline
        while loop.time() < give_up:
            with contextlib.suppress(aiohttp.ClientError):
                if await self.series_count(promql):
                    return
            await asyncio.sleep(0.25)
        raise AssertionError(f"Prometheus never answered data for {promql!r}")


@contextlib.asynccontextmanager
async def running_prometheus(
    tools: PrometheusTools, directory: Path, target: str
) -> AsyncIterator[Prometheus]:
    """Start Prometheus scraping `target` (host:port); stop it on exit."""
    port = free_port()
    log = (directory / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(tools.prometheus),
        f"--config.file={write_config(directory, target)}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=log,
        stderr=log,
    )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield Prometheus(session, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()
