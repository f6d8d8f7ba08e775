"""docs/data-file.md documents every data-file field, and its example loads idempotently."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from pydantic.fields import FieldInfo

from bridge.crypto import EmailCipher
from bridge.store import tables
from bridge.store.catalog import Catalog
from bridge.store.dataload import ChallengeData, CustomerData, DataFile, OfferData, load_data
from bridge.store.executor import open_database
from tests.docs.markdown import code_blocks, read_doc, rendered_default, table_rows, unticked
from tests.queries import rows_at

DOC = read_doc("data-file.md")
SECTIONS = {"Customers": CustomerData, "Offers": OfferData, "Challenges": ChallengeData}
LOADED_TABLES = (tables.customers, tables.points_accounts, tables.offers, tables.challenges)


def section_rows(title: str) -> dict[str, list[str]]:
    """The field table under the `### title` heading, keyed by field name."""
    section = DOC.split(f"### {title}\n", 1)[1].split("\n#", 1)[0]
    return {unticked(row[0]): row for row in table_rows(section, "Field")}


def example() -> DataFile:
    (block,) = [block for block in code_blocks(DOC, "yaml") if block.startswith("apps:")]
    return DataFile.model_validate(yaml.safe_load(block))


FIELDS: list[tuple[str, str, FieldInfo]] = [
    (title, name, info)
    for title, model in SECTIONS.items()
    for name, info in model.model_fields.items()
]


@pytest.mark.parametrize(("title", "name", "info"), FIELDS, ids=[f"{t}.{n}" for t, n, _ in FIELDS])
def test_every_field_is_documented_with_its_default(title: str, name: str, info: FieldInfo) -> None:
    row = section_rows(title).get(name)
    assert row is not None, f"docs/data-file.md, {title}: no row for {name}"
    expected = rendered_default(info, none="none")
    assert expected is None or unticked(row[2]) == expected


def test_example_uses_every_section() -> None:
    content = next(iter(example().apps.values()))
    assert all((content.customers, content.offers, content.challenges))


async def snapshot(url: str) -> dict[str, list[Any]]:
    return {
        table.name: [tuple(row) for row in await rows_at(url, sa.select(table))]
        for table in LOADED_TABLES
    }


async def load(url: str, key: str) -> None:
    engine = open_database(url)
    try:
        await load_data(Catalog(engine, EmailCipher([key])), example())
    finally:
        await engine.close()


async def test_loading_the_example_twice_changes_nothing(database_url: str, email_key: str) -> None:
    await load(database_url, email_key)
    first = await snapshot(database_url)
    await load(database_url, email_key)
    assert await snapshot(database_url) == first
    assert all(first.values())
