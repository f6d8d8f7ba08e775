"""Start-up variations past the cases of test_startup_errors.py (issue 16, item 7): apps files
and BRIDGE_APPS nested past the parser's recursion limit, and database URLs whose port or query the
URL parser or the driver refuses with an exception other than a connection error. Each was
a traceback and exit 1 (a port that is not a number printed the text after the host's colon,
which a mistyped URL can make the password); now the one line and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.test_startup_errors import EMAIL_KEY, SECRET, assert_invalid
from tests.test_cli import run_cli

NESTED_APPS_FILES = {
    "lists": "apps: " + "[" * 5000 + "]" * 5000 + "\n",
    "mappings": "apps:\n  - " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
}


@pytest.mark.parametrize("case", NESTED_APPS_FILES)
def test_an_apps_file_nested_too_deeply_is_named(tmp_path: Path, case: str) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(NESTED_APPS_FILES[case])
    result = run_cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what="nested too deeply")


def test_a_json_variable_nested_too_deeply_is_one_line() -> None:
    apps = "[" * 5000 + "]" * 5000
    result = run_cli("serve", BRIDGE_APPS=apps, BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, "environment", what="nested too deeply")


DATABASE_URLS = {
    "a port that is not a number": (f"postgresql://u@db:{SECRET}/x", "is not a database URL"),
    "two ports": (f"postgresql://u:{SECRET}@db:5432:5433/x", "is not a database URL"),
    "a port past 65535": (f"postgresql://u:{SECRET}@127.0.0.1:99999/x", "cannot connect"),
    "a query argument the driver does not take": (
        f"postgresql://u:{SECRET}@127.0.0.1:1/x?sslmode=bogus",
        "cannot connect",
    ),
    "a query argument of the wrong type": (
        f"postgresql://u:{SECRET}@127.0.0.1:1/x?connect_timeout=x",
        "cannot connect",
    ),
    "a NUL in the SQLite path": ("sqlite:///h16-%00x.db", "cannot connect"),
}


@pytest.mark.parametrize("case", DATABASE_URLS)
def test_a_database_url_the_driver_refuses_is_named_without_its_password(case: str) -> None:
    url, what = DATABASE_URLS[case]
    result = run_cli("serve", BRIDGE_DATABASE_URL=url, BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, "BRIDGE_DATABASE_URL", what=what)
