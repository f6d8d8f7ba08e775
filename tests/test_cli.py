"""The command line answers a person's mistakes with one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_APPS, DEMO_DATA


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BRIDGE_")}
    environment.update({"BRIDGE_CONFIG_FILE": str(DEMO_APPS), **env})
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "bridge", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr


def test_an_unknown_log_level_is_an_invalid_configuration() -> None:
    result = run_cli("db", "upgrade", BRIDGE_LOG_LEVEL="loud")
    assert_one_clear_line(result, "invalid configuration")


def test_load_without_an_email_key_says_which_setting_is_missing(database_url: str) -> None:
    result = run_cli("load", str(DEMO_DATA), BRIDGE_DATABASE_URL=database_url)
    assert_one_clear_line(result, "BRIDGE_EMAIL_KEYS")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("apps: [not, a, mapping", "load:"),
        ("apps:\n  demo:\n    customers: [{id: c1, points: -5}]\n", "points"),
    ],
    ids=["malformed-yaml", "invalid-field"],
)
def test_load_of_a_bad_file_names_the_problem(
    tmp_path: Path, database_url: str, email_key: str, content: str, expected: str
) -> None:
    data = tmp_path / "data.yaml"
    data.write_text(content, encoding="utf-8")
    result = run_cli(
        "load", str(data), BRIDGE_DATABASE_URL=database_url, BRIDGE_EMAIL_KEYS=email_key
    )
    assert_one_clear_line(result, expected)


def test_load_of_conflicting_rows_rolls_back_with_a_clear_line(
    tmp_path: Path, database_url: str, email_key: str
) -> None:
    data = tmp_path / "data.yaml"
    data.write_text(
        "apps:\n  demo:\n    customers:\n"
        "      - {id: c1, external_id: same}\n      - {id: c2, external_id: same}\n",
        encoding="utf-8",
    )
    result = run_cli(
        "load", str(data), BRIDGE_DATABASE_URL=database_url, BRIDGE_EMAIL_KEYS=email_key
    )
    assert_one_clear_line(result, "conflicts with rows already stored")
