"""The README works as written: two set-up commands, and curls that succeed on the demo.

Its curl commands run as real `curl` processes against a real bridge on a free port, with the
demo apps and data that `make run` loads, in the order the README gives them.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.app import create_app
from bridge.crypto import EmailCipher
from bridge.sandbox.app import create_sandbox_app
from bridge.sandbox.config import SandboxConfig
from bridge.settings import AppConfig, Settings, read_apps_file
from bridge.store.catalog import Catalog
from bridge.store.dataload import load_data, read_data_file
from bridge.store.executor import open_database
from bridge.store.migrate import upgrade_async
from tests.docs.markdown import ROOT, code_blocks, read_doc, table_rows, unticked

README = read_doc("README.md")
README_BASE_URL = "http://127.0.0.1:8080"
INCENTIVES_APPS = ROOT / "demo" / "apps-incentives.yaml"
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def shell_commands(block: str) -> list[str]:
    """Commands in a shell block: continuation lines joined, comments and blanks dropped."""
    joined = block.replace("\\\n", " ")
    commands = [line.split(" #", 1)[0].strip() for line in joined.splitlines()]
    return [command for command in commands if command and not command.startswith("#")]


def readme_curls() -> list[list[str]]:
    return [
        shlex.split(command)
        for block in code_blocks(README, "sh")
        for command in shell_commands(block)
        if command.startswith("curl ")
    ]


def makefile_curl() -> list[str]:
    """The curl `make run` prints, produced by running its own echo lines through sh."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    printed = makefile.split("Place an order with:", 1)[1].split("orders-bridge serve", 1)[0]
    echoes = [line.strip()[1:] for line in printed.splitlines() if line.strip().startswith("@echo")]
    script = "\n".join(echoes).replace("$(BRIDGE_PORT)", "8080")
    output = subprocess.run(  # noqa: S603 - a fixed shell running the Makefile's own echo lines
        ["/bin/sh", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    (command,) = [c for c in shell_commands(output) if c.startswith("curl ")]
    return shlex.split(command)


async def run_curl(arguments: list[str], base_url: str) -> dict[str, Any]:
    """Run one README curl against `base_url` instead of the README's port; parse its JSON."""
    assert arguments[0] == "curl"
    pointed = [argument.replace(README_BASE_URL, base_url) for argument in arguments[1:]]
    process = await asyncio.create_subprocess_exec(
        "curl", "--max-time", "30", *pointed, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0, f"curl failed: {shlex.join(arguments)}"
    answer: dict[str, Any] = json.loads(stdout)
    return answer


@pytest.fixture
async def demo_bridge(
    aiohttp_server: ServerFactory, make_settings: Callable[..., Settings], demo_data: None
) -> str:
    """A real bridge with the demo apps and data on a free port; its base URL."""
    server = await aiohttp_server(create_app(make_settings()))
    return f"http://127.0.0.1:{server.port}"


async def migrated_with_demo_data(url: str, email_key: str) -> str:
    await upgrade_async(url)
    engine = open_database(url)
    try:
        data = read_data_file(ROOT / "demo" / "data.yaml")
        await load_data(Catalog(engine, EmailCipher([email_key])), data)
    finally:
        await engine.close()
    return url


def pointed_at(app: AppConfig, sandbox_url: str) -> AppConfig:
    """The shipped Incentives demo app, with the sandbox at `sandbox_url` instead of :8081."""
    assert app.incentives is not None
    incentives = app.incentives.model_copy(update={"base_url": sandbox_url})
    return app.model_copy(update={"incentives": incentives})


@pytest.fixture
async def incentives_demo_bridge(
    aiohttp_server: ServerFactory,
    make_settings: Callable[..., Settings],
    demo_data: None,
    tmp_path: Path,
    email_key: str,
) -> str:
    """`make run-incentives` on free ports: the sandbox, and a bridge on the Incentives target."""
    sandbox_db = await migrated_with_demo_data(f"sqlite:///{tmp_path / 'sandbox.db'}", email_key)
    sandbox = await aiohttp_server(
        create_sandbox_app(SandboxConfig.for_apps(["demo"]), sandbox_db, [email_key])
    )
    sandbox_url = f"http://127.0.0.1:{sandbox.port}"
    apps = tuple(pointed_at(app, sandbox_url) for app in read_apps_file(INCENTIVES_APPS))
    server = await aiohttp_server(create_app(make_settings(apps=apps)))
    return f"http://127.0.0.1:{server.port}"


def test_set_up_is_exactly_make_run_and_make_test() -> None:
    setup = README.split("## Set up", 1)[1]
    first_block = code_blocks(setup, "sh")[0]
    assert shell_commands(first_block) == ["make run", "make test"]


def test_first_curl_is_the_one_make_run_prints() -> None:
    assert readme_curls()[0] == makefile_curl()


async def test_first_curl_places_an_order(demo_bridge: str) -> None:
    answer = await run_curl(readme_curls()[0], demo_bridge)
    assert answer["status"] == "ok"
    assert answer["order"]["offer_id"] == 1


async def test_every_curl_succeeds_in_readme_order(demo_bridge: str) -> None:
    answers = [await run_curl(curl, demo_bridge) for curl in readme_curls()]
    failed = [answer for answer in answers if answer["status"] != "ok"]
    assert not failed
    assert len(answers) >= 5


async def test_every_curl_succeeds_on_the_incentives_demo(incentives_demo_bridge: str) -> None:
    answers = [await run_curl(curl, incentives_demo_bridge) for curl in readme_curls()]
    failed = [answer for answer in answers if answer["status"] != "ok"]
    assert not failed


def test_demo_customers_table_matches_the_data_file() -> None:
    data = yaml.safe_load((ROOT / "demo" / "data.yaml").read_text(encoding="utf-8"))
    rows = {unticked(row[0]): row for row in table_rows(README, "Customer")}
    for customer in data["apps"]["demo"]["customers"]:
        row = rows[customer["id"]]
        assert unticked(row[1]) == customer["external_id"]
        assert row[2] == customer["country"]
        assert row[3] == ("yes" if customer["registered"] else "no")
        assert int(row[4]) == customer["points"]
        assert row[5] == customer.get("email", "")


def test_demo_offers_table_matches_the_data_file() -> None:
    data = yaml.safe_load((ROOT / "demo" / "data.yaml").read_text(encoding="utf-8"))
    rows = {int(row[0]): row for row in table_rows(README, "Offer")}
    for offer in data["apps"]["demo"]["offers"]:
        row = rows[offer["id"]]
        assert (row[1], int(row[3]), int(row[4])) == (
            offer["name"],
            offer["points"],
            offer["inventory"],
        )


def test_demo_app_table_matches_the_apps_file() -> None:
    (app,) = yaml.safe_load((ROOT / "demo" / "apps.yaml").read_text(encoding="utf-8"))["apps"]
    (row,) = table_rows(README, "App")
    assert [unticked(cell) for cell in row[:3]] == [app["name"], app["api_key"], app["api_secret"]]


def test_readme_links_point_to_files() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to missing files: {missing}"
