"""Every repository path the docs name in backticks exists, and so does every file they name
by its short form (`legacy/cutover.py`, `tenant.py`): a module that moved leaves no stale name."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import ROOT, code_spans, read_doc

PATH = re.compile(r"^(bridge|mappings|tests|docs|demo|deploy|bench)/[\w./-]*$")
GENERATED = re.compile(r"(^|/)\.")
"""A dot folder (`bench/.cache/`, `.data/`) is made by a command, not kept in the repository."""
SHORT_FILE = re.compile(r"^(?:[\w-]+/)*[\w-]+\.py$")
DOCS = ["README.md", *sorted(path.name for path in (ROOT / "docs").glob("*.md"))]
SOURCES = [
    path.relative_to(ROOT).as_posix()
    for top in ("bridge", "mappings", "tests", "bench", "deploy")
    for path in (ROOT / top).rglob("*.py")
    if not GENERATED.search(path.relative_to(ROOT).as_posix())
]


@pytest.mark.parametrize("name", DOCS)
def test_named_paths_exist(name: str) -> None:
    paths = {
        span
        for span in code_spans(read_doc(name))
        if PATH.match(span) and not GENERATED.search(span)
    }
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"{name} names missing paths: {missing}"


@pytest.mark.parametrize("name", DOCS)
def test_short_file_names_name_real_files(name: str) -> None:
    names = {span for span in code_spans(read_doc(name)) if SHORT_FILE.match(span)}
    stale = sorted(
        short
        for short in names
        if not any(source == short or source.endswith(f"/{short}") for source in SOURCES)
    )
    assert not stale, f"{name} names files that do not exist: {stale}"
