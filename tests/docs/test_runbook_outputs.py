"""The runbook's `orders-bridge policy` lines print what the comment under each says.

In docs/runbook.md a `# ...` line right under a command is what that command prints (`...`
stands for what differs: folders, versions). The commands run in order, in process, on one
policy file that starts as the runbook's step 0 has it, with the apps of the rehearsal.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from bridge.cli import main
from tests.docs.markdown import ROOT, code_blocks, read_doc
from tests.docs.walk import mismatch

DEMO_APP = {
    "name": "demo",
    "api_key": "demo-api-key",
    "api_secret": "demo-api-secret",
    "legacy_base_url": "http://legacy.example",
    "incentives": yaml.safe_load((ROOT / "demo" / "apps-incentives.yaml").read_text())["apps"][0][
        "incentives"
    ],
}


def documented() -> list[tuple[str, str]]:
    """(command, the output its next line documents) for every documented policy command."""
    found = []
    for block in code_blocks(read_doc("runbook.md"), "sh"):
        lines = block.splitlines()
        for line, following in zip(lines, [*lines[1:], ""], strict=True):
            if line.startswith("orders-bridge policy ") and following.startswith("# "):
                found.append((line.split("  #", 1)[0].strip(), following[2:]))
    return found


def test_the_runbook_documents_what_policy_commands_print(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apps = tmp_path / "apps.yaml"
    apps.write_text(yaml.safe_dump({"apps": [DEMO_APP]}))
    policy = tmp_path / "policy.yaml"
    policy.write_text("apps:\n  demo:\n    target: legacy\n")
    monkeypatch.setenv("BRIDGE_CONFIG_FILE", str(apps))
    monkeypatch.setenv("BRIDGE_POLICY_FILE", str(policy))
    commands = documented()
    assert len(commands) >= 4
    for command, expected in commands:
        assert main(shlex.split(command)[1:]) == 0, command
        printed = capsys.readouterr().out
        assert mismatch(expected, printed) is None, f"{command}: {printed}"
