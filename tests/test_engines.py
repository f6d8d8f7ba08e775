"""The test databases' own rules: an unreachable PostgreSQL skips, except under CI."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests.engines import PostgresServer


def closed_port_url() -> sa.URL:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return sa.make_url(f"postgresql://postgres@127.0.0.1:{port}/test")


async def test_an_unreachable_server_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unreachable at"):
        await PostgresServer(closed_port_url()).require()


async def test_an_unreachable_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="BRIDGE_TEST_POSTGRES_URL"):
        await PostgresServer(closed_port_url()).require()
