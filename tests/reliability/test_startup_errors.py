"""Start-up: every configuration mistake is one line naming the file or variable, exit 2.

`orders-bridge: invalid configuration: <file or variable>: <what>`, never a traceback and
never a secret's value (issue 16, item 7). Each case runs the real CLI in a subprocess.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run_cli

SECRET = "hunter2-very-secret"
EMAIL_KEY = "c2VjcmV0LWVtYWlsLWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ="


def assert_invalid(result: object, where: str, *, what: str = "") -> None:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("orders-bridge: invalid configuration: "), stderr
    assert f" {where}: " in lines[0], stderr
    assert what in lines[0]
    for secret in (SECRET, EMAIL_KEY):
        assert secret not in stderr


APPS_FILES = {
    "broken YAML": ("apps:\n  - name: a\n    api_key: [unclosed\n", "is not valid YAML"),
    "a list": ("- one\n- two\n", "expected a mapping with an 'apps' list"),
    "an invalid app": (
        f"apps:\n  - name: BAD NAME\n    api_key: k\n    api_secret: {SECRET}\n",
        "apps.0.name",
    ),
    "duplicate apps": (
        "apps:\n" + f"  - {{name: a, api_key: k, api_secret: {SECRET}}}\n" * 2,
        "must be unique",
    ),
    "not UTF-8": ("apps: []\n# \udcff\n", "cannot be read"),
}


@pytest.mark.parametrize("case", APPS_FILES, ids=list(APPS_FILES))
def test_a_bad_apps_file_is_named(tmp_path: Path, case: str) -> None:
    text, what = APPS_FILES[case]
    path = tmp_path / "apps.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = run_cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what=what)


def test_a_missing_apps_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    result = run_cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what="cannot be read")


DATABASE_URLS = {
    "mysql": (f"mysql://u:{SECRET}@db/x", "unsupported database 'mysql'"),
    "not a url": ("not a url", "is not a database URL"),
    "sqlite in a missing folder": ("sqlite:////nonexistent-h16/dir/x.db", "folder does not exist"),
    "refused": (f"postgresql://u:{SECRET}@127.0.0.1:1/x", "cannot connect"),
    "unknown role": (f"postgresql://no_such_role_h16:{SECRET}@127.0.0.1:5432/x", "cannot connect"),
}


@pytest.mark.parametrize("case", DATABASE_URLS, ids=list(DATABASE_URLS))
def test_a_bad_database_url_is_named_without_its_password(case: str) -> None:
    url, what = DATABASE_URLS[case]
    command = ("db", "upgrade") if case == "sqlite in a missing folder" else ("serve",)
    result = run_cli(*command, BRIDGE_DATABASE_URL=url, BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, "BRIDGE_DATABASE_URL", what=what)


SETTINGS = {
    "BRIDGE_SMTP__PORT": "x",
    "BRIDGE_APPS": "not json",
    "BRIDGE_SHUTDOWN_TIMEOUT_SECONDS": SECRET,
}


@pytest.mark.parametrize("variable", SETTINGS)
def test_an_invalid_setting_names_its_variable_without_the_settings_input(variable: str) -> None:
    result = run_cli("serve", BRIDGE_EMAIL_KEYS=EMAIL_KEY, **{variable: SETTINGS[variable]})
    assert_invalid(result, variable)
