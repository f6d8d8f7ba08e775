"""The lock files (requirements/*.txt) are in step with pyproject.toml, and every install uses them.

`make lock` writes them; after a pin changes in pyproject.toml these tests fail until it is
re-run. Each lock pins exact versions with hashes; the runtime lock holds only what serving
needs (no dev tool), and the dev lock pins every runtime package at the same version.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
FROM_PYPROJECT = "orders-bridge (pyproject.toml)"


@dataclass
class Pin:
    version: str
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> dict[str, Pin]:
    """name -> Pin (version, number of hashes, the `# via` lines) of a `uv pip compile` file."""
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        pinned = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pinned:
            current = pins[canonicalize_name(pinned[1])] = Pin(pinned[2])
        elif current and line.strip().startswith("--hash=sha256:"):
            current.hashes += 1
        elif current and line.startswith("    #"):
            via = line.strip("# ").removeprefix("via").strip()
            if via:
                current.via.append(via)
    return pins


def declared(requirements: list[str]) -> dict[str, str]:
    """name -> exact version of pyproject-style requirements (extras dropped)."""
    found = {}
    for text in requirements:
        requirement = Requirement(text)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{text}: pin with =="
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = declared(PYPROJECT["project"]["dependencies"])
DEV = declared(PYPROJECT["project"]["optional-dependencies"]["dev"])


def read_in(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return declared([line for line in lines if line.strip() and not line.startswith("#")])


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [
        ("runtime.txt", RUNTIME),
        ("dev.txt", {**RUNTIME, **DEV}),
        ("build.txt", read_in(REQUIREMENTS / "build.in")),
        ("tools.txt", read_in(REQUIREMENTS / "tools.in")),
    ],
)
def test_every_declared_pin_is_locked_at_its_version(lock: str, wanted: dict[str, str]) -> None:
    pins = read_lock(REQUIREMENTS / lock)
    locked = {name: pins[name].version for name in wanted if name in pins}
    assert locked == wanted, f"requirements/{lock} is out of step: run `make lock`"


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "build.txt", "tools.txt"])
def test_every_locked_package_has_hashes(lock: str) -> None:
    pins = read_lock(REQUIREMENTS / lock)
    assert pins
    assert [name for name, pin in pins.items() if pin.hashes == 0] == []


@pytest.mark.parametrize(("lock", "wanted"), [("runtime.txt", RUNTIME), ("dev.txt", RUNTIME | DEV)])
def test_no_package_is_locked_for_a_dependency_pyproject_dropped(
    lock: str, wanted: dict[str, str]
) -> None:
    pins = read_lock(REQUIREMENTS / lock)
    stale = [name for name, pin in pins.items() if FROM_PYPROJECT in pin.via and name not in wanted]
    assert stale == [], f"requirements/{lock} still locks {stale}: run `make lock`"


def test_the_runtime_lock_holds_no_dev_tool() -> None:
    runtime = read_lock(REQUIREMENTS / "runtime.txt")
    assert set(DEV) & set(runtime) == set()
    assert {"pytest", "mypy", "ruff"} & set(runtime) == set()


def test_the_dev_lock_pins_every_runtime_package_at_the_same_version() -> None:
    runtime = read_lock(REQUIREMENTS / "runtime.txt")
    dev = read_lock(REQUIREMENTS / "dev.txt")
    assert {name: dev[name].version for name in runtime if name in dev} == {
        name: pin.version for name, pin in runtime.items()
    }


def test_the_build_lock_pins_the_build_system() -> None:
    assert (
        read_in(REQUIREMENTS / "build.in")["setuptools"]
        == declared(PYPROJECT["build-system"]["requires"])["setuptools"]
    )


def test_every_install_uses_the_lock_files_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    locked_options = re.search(r"^LOCKED := (.*)$", makefile, re.MULTILINE)
    assert locked_options
    makefile = makefile.replace("$(LOCKED)", locked_options[1])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = [
        line
        for text in (makefile, dockerfile)
        for line in text.replace("\\\n", " ").replace("&&", "\n").splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert installs
    for line in installs:
        assert "--no-deps" in line, line
        locked = "-r requirements/" in line and "--require-hashes" in line
        assert locked or line.split()[-1] == ".", line
    assert "-r requirements/dev.txt" not in dockerfile
    run_prerequisites = re.search(r"^run: (.*)$", makefile, re.MULTILINE)
    assert run_prerequisites
    assert "RUNTIME_STAMP" in run_prerequisites[1]
