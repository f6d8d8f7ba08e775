"""Shadow fixtures: a bridge with a shadow policy, a shadow store, legacy stand-ins on port 0.

The primary and the shadow side are real servers or real stores; the only waiting is for
the runner to finish queued shadows (`settle`), polled on the diff store, never slept on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

import bridge.legacy.operations as operations_module
from bridge.app import create_app
from bridge.clock import Clock
from bridge.settings import Settings
from bridge.shadow.config import ShadowSettings
from bridge.store import tables as t
from tests.cutover.conftest import (
    FixedClock,
    base_url,
    demo_apps,
    fresh_store,
    legacy_server,
    write_policy,
)
from tests.queries import value_at

__all__ = ["legacy_server"]

ADMIN_TOKEN = "shadow-admin-token"
BridgeFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def shadow_policy(
    target: str = "local",
    shadow: str = "legacy",
    operations: dict[str, Any] | None = None,
    **shadow_fields: Any,
) -> dict[str, Any]:
    """A policy for the demo app: `target`, shadowed to `shadow` at 100%."""
    body: dict[str, Any] = {"target": target, "shadow": {"target": shadow, **shadow_fields}}
    if operations:
        body["operations"] = operations
    return {"apps": {"demo": body}}


@pytest.fixture
def shadow_bridge(
    aiohttp_client: BridgeFactory,
    tmp_path: Path,
    email_key: str,
    registry: CollectorRegistry,
) -> BridgeFactory:
    """Start a bridge (demo apps and data, own store) routed and shadowed by `policy`."""

    async def start(
        policy: dict[str, Any] | None,
        *,
        legacy_url: str | None = None,
        shadow_store: bool = True,
        clock: Clock | None = None,
        shadow: dict[str, Any] | None = None,
        home: str = "a",
        **overrides: Any,
    ) -> TestClient[Any, Any]:
        directory = tmp_path / home
        directory.mkdir()
        config: dict[str, Any] = {"drain_seconds": 5.0}
        if shadow_store:
            config["database_url"] = await fresh_store(directory / "shadow-store.db", email_key)
        config.update(shadow or {})
        values: dict[str, Any] = {
            "database_url": await fresh_store(directory / "bridge.db", email_key),
            "apps": demo_apps(legacy_base_url=legacy_url),
            "email_keys": (email_key,),
            "admin_token": ADMIN_TOKEN,
            "shadow": ShadowSettings(**config),
            "policy_file": (
                write_policy(directory / "policy.yaml", policy) if policy is not None else None
            ),
        }
        values.update(overrides)
        own = registry if home == "a" else CollectorRegistry()  # the test's registry: bridge "a"
        app = create_app(Settings(**values), registry=own, clock=clock or FixedClock())
        return await aiohttp_client(app)

    return start


def bridge_db(tmp_path: Path, home: str = "a") -> str:
    """The URL of the store `shadow_bridge` gave the bridge (diff store included)."""
    return f"sqlite:///{tmp_path / home / 'bridge.db'}"


def shadow_db(tmp_path: Path, home: str = "a") -> str:
    """The URL of the separate shadow store `shadow_bridge` configured."""
    return f"sqlite:///{tmp_path / home / 'shadow-store.db'}"


async def count_rows(url: str, table: sa.Table) -> int:
    return int(await value_at(url, sa.select(sa.func.count()).select_from(table)) or 0)


async def settle(url: str, expected: int, table: sa.Table = t.shadow_comparisons) -> None:
    """Wait (polling the store, bounded) until `expected` comparisons are stored."""
    for _ in range(500):
        if await count_rows(url, table) >= expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {expected} rows in {table.name}")


def gated_app(
    gate: asyncio.Event, seen: list[str], body: bytes = b'{"status":"ok","orders":[]}'
) -> web.Application:
    """A legacy stand-in that holds every call until `gate` is set (or the delay passes)."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request.path)
        await gate.wait()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def url_of(server: TestServer) -> str:
    return base_url(server)


def slow_app(delay: float, seen: list[str]) -> web.Application:
    """A legacy stand-in that answers every call with an empty list after `delay` seconds."""

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.path)
        await asyncio.sleep(delay)
        return web.Response(body=b'{"status":"ok","orders":[]}', content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def metric(registry: CollectorRegistry, result: str, operation: str, target: str) -> float:
    value = registry.get_sample_value(
        "bridge_shadow_comparisons_total",
        {"app": "demo", "operation": operation, "target": target, "result": result},
    )
    return value or 0.0


async def report(client: TestClient[Any, Any], **query: str) -> dict[str, Any]:
    answer = await client.get(
        "/_bridge/shadow", params=query, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert answer.status == 200
    document: dict[str, Any] = (await answer.json())["report"]
    return document


def row(document: dict[str, Any], operation: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        item for item in document["operations"] if item["operation"] == operation
    )
    return found


def render_on_the_shadow_side(monkeypatch: pytest.MonkeyPatch, name: str, replacement: Any) -> None:
    """Seed a mapping change on the shadow side only: while the shadow executor serves a call,
    bridge/legacy/operations.py renders with `replacement` instead of its `name` (the legacy
    stand-in, a bridge in the same process, keeps the real one)."""
    real = operations_module.serve

    async def serve(*args: Any) -> Any:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(operations_module, name, replacement)
            return await real(*args)

    monkeypatch.setattr(operations_module, "serve", serve)
