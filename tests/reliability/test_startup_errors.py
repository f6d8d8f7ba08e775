"""Start-up: every configuration mistake is one line naming the file or variable, exit 2.

`orders-bridge: invalid configuration: <file or variable>: <what>`, never a traceback and
never a secret's value (issue 16, item 7). Each case runs the CLI's `main` in process, with
the case's environment (nothing else of the test's: no BRIDGE_ variable leaks in) and its
stderr captured: a cold interpreter per case cost 10-15 s on the shared box and checked
nothing more. One case runs the real CLI in a subprocess: exit status 2 and the one line on
the process's own stderr, nothing else printed before it dies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from bridge.cli import main
from tests.conftest import DEMO_APPS
from tests.test_cli import run_cli

SECRET = "hunter2-very-secret"
EMAIL_KEY = "c2VjcmV0LWVtYWlsLWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ="


@dataclass(frozen=True)
class Result:
    returncode: int
    stderr: str


class InProcess:
    """`orders-bridge ARGS` as `run_cli` runs it, but in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    def __call__(self, *args: str, **env: str) -> Result:
        for name in os.environ:
            if name.startswith("BRIDGE_"):
                self._monkeypatch.delenv(name)
        for name, value in {"BRIDGE_CONFIG_FILE": str(DEMO_APPS), **env}.items():
            self._monkeypatch.setenv(name, value)
        self._capsys.readouterr()
        returncode = main(list(args))
        captured = self._capsys.readouterr()
        assert captured.out == ""
        return Result(returncode, captured.err)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


class Outcome(Protocol):
    """A finished run: `Result` here, `subprocess.CompletedProcess` for the real command."""

    @property
    def returncode(self) -> int: ...

    @property
    def stderr(self) -> str: ...


def assert_invalid(result: Outcome, where: str, *, what: str = "") -> None:
    stderr = result.stderr
    assert result.returncode == 2, stderr
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
def test_a_bad_apps_file_is_named(tmp_path: Path, cli: InProcess, case: str) -> None:
    text, what = APPS_FILES[case]
    path = tmp_path / "apps.yaml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    result = cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what=what)


def test_the_real_command_exits_2_with_the_one_line_on_its_stderr(tmp_path: Path) -> None:
    """The one subprocess: what the process itself prints and its exit status."""
    text, what = APPS_FILES["an invalid app"]
    path = tmp_path / "apps.yaml"
    path.write_text(text)
    result = run_cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what=what)
    assert result.stdout == ""


def test_a_missing_apps_file_is_named(tmp_path: Path, cli: InProcess) -> None:
    path = tmp_path / "nowhere.yaml"
    result = cli("serve", BRIDGE_CONFIG_FILE=str(path), BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, str(path), what="cannot be read")


DATABASE_URLS = {
    "mysql": (f"mysql://u:{SECRET}@db/x", "unsupported database 'mysql'"),
    "not a url": ("not a url", "is not a database URL"),
    "sqlite in a missing folder": ("sqlite:////nonexistent-h16/dir/x.db", "folder does not exist"),
    "refused": (f"postgresql://u:{SECRET}@127.0.0.1:1/x", "cannot connect"),
    "unknown role": (f"postgresql://no_such_role_h16:{SECRET}@127.0.0.1:5432/x", "cannot connect"),
}


@pytest.mark.parametrize("case", DATABASE_URLS, ids=list(DATABASE_URLS))
def test_a_bad_database_url_is_named_without_its_password(cli: InProcess, case: str) -> None:
    url, what = DATABASE_URLS[case]
    command = ("db", "upgrade") if case == "sqlite in a missing folder" else ("serve",)
    result = cli(*command, BRIDGE_DATABASE_URL=url, BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, "BRIDGE_DATABASE_URL", what=what)


SETTINGS = {
    "BRIDGE_SMTP__PORT": "x",
    "BRIDGE_APPS": "not json",
    "BRIDGE_SHUTDOWN_TIMEOUT_SECONDS": SECRET,
}


@pytest.mark.parametrize("variable", SETTINGS)
def test_an_invalid_setting_names_its_variable_without_the_settings_input(
    cli: InProcess, variable: str
) -> None:
    result = cli("serve", BRIDGE_EMAIL_KEYS=EMAIL_KEY, **{variable: SETTINGS[variable]})
    assert_invalid(result, variable)


@pytest.mark.parametrize(
    "command",
    [
        ("serve",),
        ("db", "upgrade"),
        ("load", "demo/data.yaml"),
        ("rotate-email-keys",),
        ("reconcile", "--app", "demo"),
        ("backfill", "--app", "demo", "--customers", "customers.txt"),
    ],
    ids=lambda command: command[0],
)
def test_every_command_with_a_store_names_an_unreachable_database(
    cli: InProcess, command: tuple[str, ...]
) -> None:
    url, what = DATABASE_URLS["refused"]
    result = cli(*command, BRIDGE_DATABASE_URL=url, BRIDGE_EMAIL_KEYS=EMAIL_KEY)
    assert_invalid(result, "BRIDGE_DATABASE_URL", what=what)
