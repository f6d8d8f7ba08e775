"""The cutover docs stay true: every policy example loads, every command line parses."""

from __future__ import annotations

import shlex
import textwrap

import pytest

from bridge.cli import _parser
from bridge.cutover.policy import parse_policy
from tests.cutover.test_policy import NOW, make_app
from tests.docs.markdown import code_blocks, read_doc

POLICY_EXAMPLES = [
    textwrap.dedent(block)
    for name in ("runbook.md", "configuration.md")
    for block in code_blocks(read_doc(name), "yaml")
    if ("acme:" in block or "demo:" in block) and "api_key" not in block
]
COMMANDS = [
    line.split("#", 1)[0].strip()
    for block in code_blocks(read_doc("runbook.md"), "sh")
    for line in block.splitlines()
    if line.startswith("orders-bridge ")
]


def test_examples_and_commands_were_found() -> None:
    assert len(POLICY_EXAMPLES) >= 3
    assert len(COMMANDS) >= 4


@pytest.mark.parametrize("example", POLICY_EXAMPLES)
def test_policy_example_is_valid(example: str) -> None:
    apps = (make_app(), make_app(name="demo", api_key="demo-key"))
    parse_policy(example.encode(), apps, NOW, source="example")


@pytest.mark.parametrize("command", COMMANDS)
def test_runbook_command_parses(command: str) -> None:
    _parser().parse_args(shlex.split(command)[1:])
