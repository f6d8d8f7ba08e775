"""A sender's outbox statements read only the rows of the kinds it handles: each round's claim
and depth count are planned on `ix_outbox_status_kind` (migration 0012), not on a walk of
every pending row of every kind (a replica without SMTP leaves each order's email pending)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.store.executor import open_database
from bridge.store.outbox import Outbox
from tests.engines import sqlite_database

KINDS = {"manual_redeem", "undo_purchase", "finish_reject"}


async def test_a_senders_claim_and_depth_count_read_by_status_and_kind(tmp_path: Path) -> None:
    url = await sqlite_database(tmp_path, migrated=True)
    db = open_database(url)
    run: list[str] = []
    db.listeners.append(run.append)
    outbox = Outbox(db)
    now = datetime.now(UTC)
    try:
        await outbox.claim(now, now + timedelta(seconds=30), KINDS)
        await outbox.depth(KINDS)
    finally:
        await db.close()

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        plans = [
            " ".join(
                step[3]
                for step in conn.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))
            )
            for sql in run
        ]
    assert len(plans) == 2
    assert all("ix_outbox_status_kind" in plan for plan in plans), plans
