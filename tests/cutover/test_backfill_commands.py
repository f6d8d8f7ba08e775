"""`orders-bridge backfill`'s summary: an aligned table per store, or JSON."""

from __future__ import annotations

import json

from bridge.cutover.backfill import Summary
from bridge.cutover.backfill_commands import _json, _table


def summary(done: int, inserted: int, conflict: int, pages: int) -> Summary:
    result = Summary()
    result.customers["done"] = done
    result.orders["inserted"] = inserted
    result.orders["conflict"] = conflict
    result.pages = pages
    return result


def test_the_table_has_one_aligned_column_per_store() -> None:
    lines = _table({"main": summary(2, 14, 0, 3), "shadow": summary(2, 1234, 5, 3)}).splitlines()
    assert lines[0].split() == ["main", "shadow"]
    assert len({len(line) for line in lines}) == 1
    rows = {line[:30].strip(): line[30:].split() for line in lines[1:]}
    assert rows["customers done"] == ["2", "2"]
    assert rows["orders inserted"] == ["14", "1234"]
    assert rows["orders conflict"] == ["0", "5"]
    assert rows["pages read"] == ["3", "3"]


def test_json_names_every_count_of_every_store() -> None:
    document = json.loads(_json({"main": summary(2, 14, 0, 3)}))
    assert document["main"]["orders"]["inserted"] == 14
    assert document["main"]["customers"]["unknown_customer"] == 0
    assert document["main"]["pages"] == 3
