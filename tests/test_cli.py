"""The command line: one style, help everywhere, no secret as an option, one clear line for
a person's mistakes (never a traceback) and for what a command changed."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli import _listening, _parser
from bridge.settings import Settings
from bridge.store.commands import shown
from tests.conftest import DEMO_APPS, DEMO_DATA
from tests.reliability.server_process import free_port


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


def every_parser(
    parser: argparse.ArgumentParser, name: str = "orders-bridge"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, child in action.choices.items():
                yield from every_parser(child, f"{name} {command}")


def options() -> list[tuple[str, argparse.Action]]:
    return [
        (name, action)
        for name, parser in every_parser(_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
    ]


def test_every_command_is_listed_with_a_line_of_help() -> None:
    listed = {
        name: parser.description or parser.format_usage()
        for name, parser in every_parser(_parser())
    }
    top = _parser().format_help()
    for name in listed:
        if name.count(" ") == 1:
            assert name.split()[1] in top
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            assert all(choice.help for choice in action._choices_actions)


def test_every_option_and_argument_has_help() -> None:
    assert [f"{name} {action.dest}" for name, action in options() if not action.help] == []


def test_no_secret_is_an_option() -> None:
    secret = re.compile(r"secret|password|token|email-keys", re.IGNORECASE)
    flags = [flag for _, action in options() for flag in action.option_strings]
    assert [flag for flag in flags if secret.search(flag) and not flag.endswith("-file")] == []


def test_version() -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, "orders-bridge 0.1.0")


def test_a_subcommand_has_its_own_help() -> None:
    result = run_cli("db", "upgrade", "--help")
    assert result.stdout.startswith("usage: orders-bridge db upgrade")


@pytest.mark.parametrize("workers", ["0", "-3", "two"])
def test_serve_refuses_workers_below_one(workers: str) -> None:
    result = run_cli("serve", "--workers", workers)
    assert result.returncode == 2
    assert "--workers" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_flags_win_over_the_environment_which_still_works() -> None:
    settings = Settings(apps=(), host="10.0.0.1", port=9999)
    args = _parser().parse_args(["serve"])
    assert (_listening(settings, args).host, _listening(settings, args).port) == ("10.0.0.1", 9999)
    args = _parser().parse_args(["serve", "--host", "127.0.0.2", "--port", "8123"])
    assert (_listening(settings, args).host, _listening(settings, args).port) == ("127.0.0.2", 8123)


def test_serve_listens_on_the_port_of_its_flag(
    tmp_path: Path, database_url: str, email_key: str
) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    environment |= {
        "BRIDGE_CONFIG_FILE": str(DEMO_APPS),
        "BRIDGE_DATABASE_URL": database_url,
        "BRIDGE_EMAIL_KEYS": email_key,
        "BRIDGE_PORT": "1",  # the flag wins
    }
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "bridge", "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(600):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("serve --port never answered")
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_db_commands_say_what_they_did(tmp_path: Path, email_key: str) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    env = {"BRIDGE_DATABASE_URL": url, "BRIDGE_EMAIL_KEYS": email_key}
    upgraded = run_cli("db", "upgrade", BRIDGE_ORDER_ID_FLOOR="5000", **env)
    assert upgraded.returncode == 0, upgraded.stderr
    head = run_cli("db", "history", **env).stdout.splitlines()[-1].split()[0]
    assert upgraded.stdout == f"{url}: at revision {head} (head), order ids above 5000\n"
    assert run_cli("db", "current", **env).stdout == f"{url}: at revision {head}\n"
    loaded = run_cli("load", str(DEMO_DATA), **env)
    assert (
        loaded.stdout == f"{url}: loaded {DEMO_DATA} (1 app, 3 customers, 4 offers, 1 challenge)\n"
    )
    first = run_cli("db", "history", **env).stdout.splitlines()[0].split()[0]
    downgraded = run_cli("db", "downgrade", first, **env)
    assert downgraded.stdout == f"{url}: at revision {first}\n", downgraded.stderr


def test_db_upgrade_hides_a_password() -> None:
    assert shown("postgresql://bridge:hunter2@db:5432/bridge") == (
        "postgresql://bridge:***@db:5432/bridge"
    )
