"""`since`: one parser for `shadow report --since` and `GET /_bridge/shadow?since=`.

Spans and ISO dates alike; anything malformed or beyond the calendar is a clear 400-class
legacy error on the page (never a 500) and exit 2 with one line in the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.canonical import ErrorCode
from bridge.settings import Settings
from bridge.shadow import commands
from bridge.shadow.since import SinceError, parse_since
from mappings.errors import LEGACY_HTTP_STATUS
from tests.cutover.conftest import demo_apps
from tests.shadow.conftest import ADMIN_TOKEN, BridgeFactory, bridge_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BAD = [
    "999999999d",
    "99999999999w",
    "999999999999s",
    "9" * 5000 + "d",
    "10y",
    "-5d",
    "10 m",
    "1e9h",
    "yesterday",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-13-01",
    "2026-03-01\x00",
    "",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("30s", NOW - timedelta(seconds=30)),
        ("10m", NOW - timedelta(minutes=10)),
        ("6h", NOW - timedelta(hours=6)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-02-01T10:00:00+02:00", datetime(2026, 2, 1, 8, tzinfo=UTC)),
        ("2026-02-01T10:00:00Z", datetime(2026, 2, 1, 10, tzinfo=UTC)),
    ],
)
def test_spans_and_iso_dates_are_read_alike(raw: str, expected: datetime) -> None:
    assert parse_since(raw, NOW) == expected


@pytest.mark.parametrize("raw", BAD)
def test_malformed_or_overflowing_values_are_a_since_error(raw: str) -> None:
    with pytest.raises(SinceError, match=r"^since "):
        parse_since(raw, NOW)


@pytest.mark.parametrize("query", [*({"since": raw} for raw in BAD if raw), {"app": "a\x00b"}])
async def test_the_page_answers_a_bad_query_with_a_legacy_argument_error(
    shadow_bridge: BridgeFactory, query: dict[str, str]
) -> None:
    client = await shadow_bridge(None, shadow_store=False)
    response = await client.get(
        "/_bridge/shadow", params=query, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    body = await response.json()
    assert (response.status, body["status"], body["errors"]["code"]) == (
        LEGACY_HTTP_STATUS[ErrorCode.ARGUMENT_ERROR],  # the legacy contract's status, not a 5xx
        "error",
        "argument_error",
    )


async def test_the_page_reads_a_span_in_minutes(shadow_bridge: BridgeFactory) -> None:
    client = await shadow_bridge(None, shadow_store=False)
    response = await client.get(
        "/_bridge/shadow",
        params={"since": "10m"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status == 200


def report_args(since: str) -> argparse.Namespace:
    return argparse.Namespace(
        command="shadow", shadow_action="report", app=None, since=since, json=True
    )


async def test_the_cli_reads_a_span_in_minutes_and_refuses_an_overflow(
    shadow_bridge: BridgeFactory,
    tmp_path: Path,
    email_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await shadow_bridge(None, shadow_store=False)  # a migrated store
    settings = Settings(database_url=bridge_db(tmp_path), apps=demo_apps(), email_keys=(email_key,))
    assert await asyncio.to_thread(commands.run, report_args("10m"), settings) == 0
    assert '"since":' in capsys.readouterr().out
    assert await asyncio.to_thread(commands.run, report_args("999999999d"), settings) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("orders-bridge: since reaches beyond the calendar")
