"""SIGTERM with 50 slow calls in flight: readiness first, every call answered, a timely exit.

A real `python -m bridge serve` forwards to a legacy stand-in through a `FaultyUpstream`
that answers each call after SLOW seconds. Once all 50 calls are in flight upstream, the
process gets SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bridge.sandbox.faults import Fault, FaultyUpstream, Kind
from tests.conftest import API_KEY, DEMO_APPS, basic_auth
from tests.cutover.conftest import fresh_store
from tests.server_process import ServerProcess

IN_FLIGHT = 50
SLOW = 2.5
DRAIN = 1.0
TIMEOUT = 10.0


@pytest.fixture
async def slow_legacy(
    legacy_server: Callable[..., Awaitable[Any]],
    start_faulty: Callable[..., Awaitable[FaultyUpstream]],
) -> FaultyUpstream:
    faulty = await start_faulty(await legacy_server())
    faulty.inject(Fault(Kind.LATENCY, delay=SLOW))
    return faulty


@pytest.fixture
async def server(
    slow_legacy: FaultyUpstream, tmp_path: Path, email_key: str
) -> AsyncIterator[ServerProcess]:
    apps = yaml.safe_load(DEMO_APPS.read_text(encoding="utf-8"))
    for app in apps["apps"]:
        app["legacy_base_url"] = slow_legacy.url
    (tmp_path / "apps.yaml").write_text(yaml.safe_dump(apps), encoding="utf-8")
    policy = {"apps": {"demo": {"target": "legacy"}}}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    env = {
        "BRIDGE_DATABASE_URL": await fresh_store(tmp_path / "bridge.db", email_key),
        "BRIDGE_CONFIG_FILE": str(tmp_path / "apps.yaml"),
        "BRIDGE_POLICY_FILE": str(tmp_path / "policy.yaml"),
        "BRIDGE_EMAIL_KEYS": email_key,
        "BRIDGE_SHUTDOWN_DRAIN_SECONDS": str(DRAIN),
        "BRIDGE_SHUTDOWN_TIMEOUT_SECONDS": str(TIMEOUT),
        "BRIDGE_LEGACY_TIMEOUT_SECONDS": str(TIMEOUT),
    }
    process = ServerProcess(env, tmp_path / "server.log")
    await process.start()
    yield process
    await process.stop()


async def slow_call(base: str) -> tuple[int, bytes]:
    """One call on its own connection; a reset or a cut answer raises."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(
            f"{base}/priv/v1/apps/{API_KEY}/users/demo-user-1/orders", headers=basic_auth()
        ) as answer,
    ):
        return answer.status, await answer.read()


async def readiness_after_sigterm(base: str) -> list[int]:
    """Poll /readyz until it stops answering 200; the statuses seen (a refusal raises)."""
    seen: list[int] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        while not seen or seen[-1] == 200:
            async with s.get(f"{base}/readyz") as answer:
                seen.append(answer.status)
                body = await answer.json()
            await asyncio.sleep(0.02)
    assert body == {"status": "unavailable", "reason": "shutting_down"}
    return seen


@pytest.mark.slow
async def test_sigterm_drains_every_call_in_flight_and_exits_in_time(
    server: ServerProcess, slow_legacy: FaultyUpstream
) -> None:
    calls = [asyncio.create_task(slow_call(server.base)) for _ in range(IN_FLIGHT)]
    await slow_legacy.until_in_flight(IN_FLIGHT)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()

    readiness = await readiness_after_sigterm(server.base)
    answers = await asyncio.gather(*calls, return_exceptions=True)
    code = await asyncio.wait_for(server.process.wait(), DRAIN + TIMEOUT + 10)
    took = time.monotonic() - stopped

    assert readiness[-1] == 503
    assert [status for status, _ in answers] == [200] * IN_FLIGHT  # type: ignore[misc]
    assert all(b'"status":"ok"' in body for _, body in answers)  # type: ignore[misc]
    assert (code, took < DRAIN + TIMEOUT) == (0, True)
    log = server.log.read_text()
    assert '"event": "shutdown_finished"' in log or "shutdown_finished" in log


@pytest.mark.slow
async def test_after_the_drain_new_connections_are_refused_not_reset(
    server: ServerProcess, slow_legacy: FaultyUpstream
) -> None:
    call = asyncio.create_task(slow_call(server.base))
    await slow_legacy.until_in_flight(1)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    await readiness_after_sigterm(server.base)
    await asyncio.sleep(DRAIN + 0.2)

    with pytest.raises(aiohttp.ClientConnectorError):
        await slow_call(server.base)
    assert (await call)[0] == 200
    assert await asyncio.wait_for(server.process.wait(), TIMEOUT + 10) == 0
