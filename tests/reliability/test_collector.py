"""The garbage collector of a serving process (bridge/runtime/collector.py): start-up's
objects frozen once the server listens, and garbage cycles made later still collected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aiohttp

from bridge.runtime.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD
from tests.conftest import API_KEY, DEMO_APPS, basic_auth
from tests.cutover.conftest import fresh_store
from tests.server_process import ServerProcess

CYCLE_AFTER_SETTLING = """
import gc, json, weakref
from bridge.runtime.collector import YOUNG_THRESHOLD, settle_after_start

frozen = settle_after_start()

class Node:
    pass

node = Node()
node.self = node  # a cycle: reference counting alone never frees it
gone = weakref.ref(node)
del node
kept = [[] for _ in range(2 * YOUNG_THRESHOLD)]  # containers that live on, as a busy call's do
print(json.dumps({"frozen": frozen, "threshold": gc.get_threshold(), "collected": gone() is None}))
"""


def test_a_cycle_made_after_settling_is_still_collected_without_asking() -> None:
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", CYCLE_AFTER_SETTLING], capture_output=True, text=True, check=True
    )
    seen = json.loads(run.stdout)
    assert seen["threshold"] == [YOUNG_THRESHOLD, *OLDER_THRESHOLDS]
    assert seen["frozen"] > 0
    assert seen["collected"] is True


async def test_the_server_freezes_what_start_up_built(tmp_path: Path, email_key: str) -> None:
    env = {
        "BRIDGE_DATABASE_URL": await fresh_store(tmp_path / "bridge.db", email_key),
        "BRIDGE_CONFIG_FILE": str(DEMO_APPS),
        "BRIDGE_EMAIL_KEYS": email_key,
    }
    server = ServerProcess(env, tmp_path / "server.log")
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{server.base}/priv/v1/apps/{API_KEY}/users/demo-user-1/orders",
                headers=basic_auth(),
            ) as answer,
        ):
            assert answer.status == 200  # the settled process serves
    finally:
        await server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if "{" in line]
    started = [line for line in lines if line.get("event") == "server_started"]
    assert len(started) == 1
    assert started[0]["gc_frozen"] > 10_000  # the app, its routes, schema and mappings
