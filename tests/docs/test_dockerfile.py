"""The Dockerfile keeps its promises: multi-stage, non-root, `orders-bridge serve`, a health check.

No Docker engine runs in CI, so the file is read instruction by instruction, and the health
check's own command is run against a real bridge.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bridge.app import create_app
from bridge.cli import _parser
from bridge.settings import Settings
from tests.docs.markdown import ROOT, code_blocks, read_doc

Instruction = tuple[str, str]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def instructions() -> list[Instruction]:
    """(KEYWORD, arguments) pairs, with comments dropped and continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    parsed = []
    for line in joined.splitlines():
        keyword, _, arguments = line.strip().partition(" ")
        if keyword:
            parsed.append((keyword.upper(), " ".join(arguments.split())))
    return parsed


def stages() -> list[list[Instruction]]:
    """Instructions grouped by build stage; each stage starts with its FROM."""
    grouped: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(instruction)
    return grouped


def runtime(keyword: str) -> list[str]:
    """Arguments of every `keyword` instruction in the final (runtime) stage."""
    return [arguments for key, arguments in stages()[-1] if key == keyword]


def test_builds_in_two_stages_from_python_311_slim() -> None:
    build_args = dict(
        arguments.split("=", 1) for keyword, arguments in instructions() if keyword == "ARG"
    )
    bases = [stage[0][1].split()[0] for stage in stages()]
    assert len(bases) == 2
    assert {build_args[base.strip("${}")] for base in bases} == {"python:3.11-slim-bookworm"}


def test_runtime_copies_the_builders_virtual_environment() -> None:
    assert any(arguments.startswith("--from=builder /opt/venv") for arguments in runtime("COPY"))


def test_runtime_ships_the_demo_files() -> None:
    assert "demo ./demo" in runtime("COPY")


def test_runs_as_a_non_root_user() -> None:
    (user,) = runtime("USER")
    assert user.split(":")[0] not in {"root", "0"}


def test_serves_with_orders_bridge_serve() -> None:
    (entrypoint,) = runtime("ENTRYPOINT")
    (command,) = runtime("CMD")
    assert json.loads(entrypoint) + json.loads(command) == ["orders-bridge", "serve"]


def test_listens_on_all_interfaces_on_the_exposed_port() -> None:
    environment = " ".join(runtime("ENV")).split()
    assert "BRIDGE_HOST=0.0.0.0" in environment
    assert "BRIDGE_PORT=8080" in environment
    assert runtime("EXPOSE") == ["8080"]


def test_dockerignore_lets_every_copied_path_in() -> None:
    allowed = {
        line.lstrip("!").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    copied = {
        source.rstrip("/")
        for key, arguments in instructions()
        if key == "COPY" and not arguments.startswith("--from")
        for source in arguments.split()[:-1]
    }
    assert copied <= allowed
    assert all((ROOT / path).exists() for path in copied)


async def test_healthcheck_command_passes_against_a_running_bridge(
    aiohttp_server: ServerFactory, make_settings: Callable[..., Settings]
) -> None:
    (healthcheck,) = runtime("HEALTHCHECK")
    program: list[Any] = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert program[:2] == ["python", "-c"]
    server = await aiohttp_server(create_app(make_settings()))
    environment = {**os.environ, "BRIDGE_PORT": str(server.port)}
    process = await asyncio.create_subprocess_exec(sys.executable, *program[1:], env=environment)
    assert await process.wait() == 0


def readme_docker_runs() -> list[list[str]]:
    """The `docker run` commands of the README's Docker section, as argument lists."""
    section = read_doc("README.md").split("## Docker\n", 1)[1].split("\n## ", 1)[0]
    block = code_blocks(section, "sh")[0].replace("\\\n", " ")
    return [shlex.split(command)[1:] for command in re.findall(r"docker run[^)\n]*", block)]


def test_readme_docker_commands_are_valid_cli_calls() -> None:
    (entrypoint,) = runtime("ENTRYPOINT")
    (default_command,) = runtime("CMD")
    assert json.loads(entrypoint) == ["orders-bridge"]
    runs = readme_docker_runs()
    assert runs
    for run in runs:
        image = run.index("orders-bridge")  # the image tag; what follows goes to the CLI
        _parser().parse_args(run[image + 1 :] or json.loads(default_command))


def test_readme_docker_commands_name_files_the_image_ships() -> None:
    (workdir,) = runtime("WORKDIR")
    shipped = [arguments.split()[-1] for arguments in runtime("COPY")]
    named = [
        token.split("=", 1)[-1]
        for run in readme_docker_runs()
        for token in run
        if token.endswith(".yaml")
    ]
    assert named
    for path in named:
        assert (ROOT / path).is_file()
        assert any(
            f"{workdir}/{path}".startswith(f"{workdir}/{dest.strip('./')}") for dest in shipped
        )
