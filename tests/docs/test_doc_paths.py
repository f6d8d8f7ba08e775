"""Every repository path the operator docs name in backticks exists."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import ROOT, code_spans, read_doc

PATH = re.compile(r"^(bridge|mappings|tests|docs|demo|deploy|bench)/[\w./-]*$")
DOCS = [
    "README.md",
    "architecture.md",
    "clients.md",
    "configuration.md",
    "data-file.md",
    "errors.md",
]


@pytest.mark.parametrize("name", DOCS)
def test_named_paths_exist(name: str) -> None:
    paths = {span for span in code_spans(read_doc(name)) if PATH.match(span)}
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"{name} names missing paths: {missing}"
