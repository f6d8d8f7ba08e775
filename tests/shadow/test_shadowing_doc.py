"""docs/shadowing.md documents every shadow setting with its true default, and its screenshot."""

from __future__ import annotations

import re

import pytest

from bridge.shadow.config import ShadowSettings
from tests.docs.markdown import DOCS, read_doc, rendered_default, table_rows, unticked

DOC = read_doc("shadowing.md")
FIELDS = {
    f"BRIDGE_SHADOW__{name.upper()}": info for name, info in ShadowSettings.model_fields.items()
}
ROWS = {unticked(row[0]): row for row in table_rows(DOC, "Variable")}


def test_every_shadow_setting_has_a_row() -> None:
    assert sorted(FIELDS.keys() - ROWS.keys()) == []


@pytest.mark.parametrize("variable", sorted(FIELDS))
def test_the_documented_default_is_the_code_default(variable: str) -> None:
    assert unticked(ROWS[variable][1]) == rendered_default(FIELDS[variable])


def test_every_mentioned_shadow_variable_exists() -> None:
    mentioned = set(re.findall(r"\bBRIDGE_SHADOW__[A-Z0-9_]*[A-Z0-9]", DOC))
    assert sorted(mentioned - FIELDS.keys()) == []


def test_the_status_page_screenshot_is_there() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", DOC)
    assert images
    assert all((DOCS / image).read_bytes().startswith(b"\x89PNG") for image in images)
