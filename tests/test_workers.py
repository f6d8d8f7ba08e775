"""`orders-bridge serve --workers 2`: two serving processes on one port, stopped together."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp

from tests.conftest import DEMO_APPS, ROOT, basic_auth
from tests.reliability.server_process import free_port


def _text(log: Path) -> str:
    return log.read_text()


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _ready(base: str, process: asyncio.subprocess.Process, log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):  # a cold interpreter on a busy machine
            assert process.returncode is None, _text(log)
            try:
                async with session.get(f"{base}/readyz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(_text(log))


async def start_two_workers(
    database_url: str, email_key: str, log: Path
) -> tuple[asyncio.subprocess.Process, str]:
    """`serve --workers 2` on a free port, ready; the process and its base URL."""
    port = free_port()
    env = {
        "BRIDGE_CONFIG_FILE": str(DEMO_APPS),
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_EMAIL_KEYS": email_key,
        "BRIDGE_PORT": str(port),
        "BRIDGE_LOG_FORMAT": "json",
        "PATH": "/usr/bin:/bin",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge", "serve", "--workers", "2",
            env=env, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(base, process, log)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process, base


async def test_two_workers_serve_one_port_and_stop_on_sigterm(
    database_url: str, email_key: str, tmp_path: Path
) -> None:
    process, _ = await start_two_workers(database_url, email_key, tmp_path / "serve.log")
    try:
        workers = _children(process.pid)
        assert len(workers) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0
    assert not any(_alive(pid) for pid in workers)


def _sum(scrape: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in scrape.splitlines()
        if line.startswith((name + "{", name + " "))
    )


async def test_every_scrape_counts_the_calls_of_every_worker(
    database_url: str, email_key: str, tmp_path: Path
) -> None:
    calls = 24
    process, base = await start_two_workers(database_url, email_key, tmp_path / "serve.log")
    try:
        auth = basic_auth()
        for _ in range(calls):  # a new connection each: the kernel spreads them
            async with (
                aiohttp.ClientSession(headers=auth) as session,
                session.get(f"{base}/priv/v1/apps/demo-api-key/users/demo-user-1/orders"),
            ):
                pass
        scrapes = []
        for _ in range(6):
            async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as got:
                scrapes.append(await got.text())
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
    for scrape in scrapes:
        assert _sum(scrape, "bridge_requests_total") == calls
        pids = {line.split('pid="')[1].split('"')[0] for line in scrape.splitlines()
                if line.startswith("bridge_build_info{")}  # fmt: skip
        assert len(pids) == 2
