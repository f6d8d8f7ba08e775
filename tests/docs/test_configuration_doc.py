"""docs/configuration.md documents every setting and every apps-file field, with true defaults."""

from __future__ import annotations

import re

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
    SmtpSettings,
    VelocityLimit,
)
from tests.docs.markdown import (
    code_blocks,
    code_spans,
    read_doc,
    rendered_default,
    table_rows,
    unticked,
)

DOC = read_doc("configuration.md")


def documented(first_header: str) -> dict[str, list[str]]:
    """Rows of the doc's tables that start with `first_header`, keyed by the unticked name."""
    return {unticked(row[0]): row for row in table_rows(DOC, first_header)}


def env_names(model: type[BaseModel], prefix: str) -> dict[str, FieldInfo]:
    return {f"{prefix}{name.upper()}": info for name, info in model.model_fields.items()}


SETTINGS_VARIABLES = env_names(Settings, "BRIDGE_") | env_names(SmtpSettings, "BRIDGE_SMTP__")
FILE_FIELDS = AppConfig.model_fields | ReviewPolicy.model_fields | ReviewRule.model_fields


def test_every_setting_has_a_row() -> None:
    missing = SETTINGS_VARIABLES.keys() - documented("Variable").keys()
    assert not missing, f"docs/configuration.md lacks settings: {sorted(missing)}"


@pytest.mark.parametrize("variable", sorted(SETTINGS_VARIABLES))
def test_setting_default_is_the_code_default(variable: str) -> None:
    expected = rendered_default(SETTINGS_VARIABLES[variable])
    row = documented("Variable")[variable]
    assert expected is None or unticked(row[2]) == expected


def test_every_documented_variable_exists() -> None:
    mentioned = set(re.findall(r"\bBRIDGE_[A-Z0-9_]*[A-Z0-9]", DOC))
    unknown = mentioned - SETTINGS_VARIABLES.keys()
    assert not unknown, f"docs/configuration.md mentions unknown variables: {sorted(unknown)}"


def test_every_apps_file_field_has_a_row() -> None:
    missing = FILE_FIELDS.keys() - documented("Field").keys()
    assert not missing, f"docs/configuration.md lacks apps-file fields: {sorted(missing)}"


@pytest.mark.parametrize("field", sorted(FILE_FIELDS))
def test_apps_file_default_is_the_code_default(field: str) -> None:
    expected = rendered_default(FILE_FIELDS[field])
    row = documented("Field")[field]
    assert expected is None or unticked(row[2]) == expected


def test_every_review_condition_has_a_row() -> None:
    missing = ReviewCondition.model_fields.keys() - documented("Condition").keys()
    assert not missing, f"docs/configuration.md lacks review conditions: {sorted(missing)}"


def test_velocity_fields_are_named() -> None:
    assert VelocityLimit.model_fields.keys() <= code_spans(DOC)


def test_example_apps_file_is_valid() -> None:
    (example,) = [block for block in code_blocks(DOC, "yaml") if block.startswith("apps:")]
    apps = [AppConfig.model_validate(entry) for entry in yaml.safe_load(example)["apps"]]
    assert apps[0].review.rules
