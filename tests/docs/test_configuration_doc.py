"""docs/configuration.md documents every setting and every apps-file field, with true defaults.

Nested settings groups (`BRIDGE_SMTP__...`, `BRIDGE_SHADOW__...`) may be tabled on the page
of their feature; each of their fields must have a row, with its default, somewhere in docs/.
"""

from __future__ import annotations

import re
import types
import typing

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bridge.settings import (
    AppConfig,
    ReviewCondition,
    ReviewPolicy,
    ReviewRule,
    Settings,
    VelocityLimit,
)
from tests.docs.markdown import (
    DOCS,
    code_blocks,
    code_spans,
    read_doc,
    rendered_default,
    table_records,
    unticked,
)

DOC = read_doc("configuration.md")


def documented(text: str, first_header: str) -> dict[str, dict[str, str]]:
    """Rows of the tables that start with `first_header`, keyed by the unticked first cell."""
    return {unticked(row[first_header]): row for row in table_records(text, first_header)}


def nested_model(info: FieldInfo) -> type[BaseModel] | None:
    """The settings group a field holds (`SmtpSettings | None` -> SmtpSettings), if any."""
    candidates = [info.annotation]
    if isinstance(info.annotation, types.UnionType) or typing.get_origin(info.annotation) is (
        typing.Union
    ):
        candidates = list(typing.get_args(info.annotation))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


SETTINGS_VARIABLES = {
    f"BRIDGE_{name.upper()}": info for name, info in Settings.model_fields.items()
}
NESTED_VARIABLES = {
    f"BRIDGE_{group.upper()}__{name.upper()}": field
    for group, info in Settings.model_fields.items()
    if (model := nested_model(info)) is not None and not issubclass(model, AppConfig)
    for name, field in model.model_fields.items()
}
FILE_FIELDS = AppConfig.model_fields | ReviewPolicy.model_fields | ReviewRule.model_fields


def rows_in_all_docs() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for path in sorted(DOCS.glob("*.md")):
        rows |= documented(path.read_text(encoding="utf-8"), "Variable")
    return rows


def test_every_setting_has_a_row() -> None:
    missing = SETTINGS_VARIABLES.keys() - documented(DOC, "Variable").keys()
    assert not missing, f"docs/configuration.md lacks settings: {sorted(missing)}"


@pytest.mark.parametrize("variable", sorted(SETTINGS_VARIABLES))
def test_setting_default_is_the_code_default(variable: str) -> None:
    expected = rendered_default(SETTINGS_VARIABLES[variable])
    row = documented(DOC, "Variable")[variable]
    assert expected is None or unticked(row["Default"]) == expected


def test_every_nested_setting_has_a_row_in_docs() -> None:
    missing = NESTED_VARIABLES.keys() - rows_in_all_docs().keys()
    assert not missing, f"docs/ lacks nested settings: {sorted(missing)}"


@pytest.mark.parametrize("variable", sorted(NESTED_VARIABLES))
def test_nested_setting_default_is_the_code_default(variable: str) -> None:
    expected = rendered_default(NESTED_VARIABLES[variable])
    row = rows_in_all_docs()[variable]
    assert expected is None or unticked(row["Default"]) == expected


def test_every_documented_variable_exists() -> None:
    mentioned = set(re.findall(r"\bBRIDGE_[A-Z0-9_]*[A-Z0-9]", DOC))
    unknown = mentioned - SETTINGS_VARIABLES.keys() - NESTED_VARIABLES.keys()
    assert not unknown, f"docs/configuration.md mentions unknown variables: {sorted(unknown)}"


def test_every_apps_file_field_has_a_row() -> None:
    missing = FILE_FIELDS.keys() - documented(DOC, "Field").keys()
    assert not missing, f"docs/configuration.md lacks apps-file fields: {sorted(missing)}"


@pytest.mark.parametrize("field", sorted(FILE_FIELDS))
def test_apps_file_default_is_the_code_default(field: str) -> None:
    expected = rendered_default(FILE_FIELDS[field])
    row = documented(DOC, "Field")[field]
    assert expected is None or unticked(row["Default"]) == expected


def test_every_review_condition_has_a_row() -> None:
    missing = ReviewCondition.model_fields.keys() - documented(DOC, "Condition").keys()
    assert not missing, f"docs/configuration.md lacks review conditions: {sorted(missing)}"


def test_velocity_fields_are_named() -> None:
    assert VelocityLimit.model_fields.keys() <= code_spans(DOC)


def test_example_apps_file_is_valid() -> None:
    (example,) = [block for block in code_blocks(DOC, "yaml") if block.startswith("apps:")]
    apps = [AppConfig.model_validate(entry) for entry in yaml.safe_load(example)["apps"]]
    assert apps[0].review.rules
