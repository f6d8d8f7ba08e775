"""docs/architecture.md names real files, and its layer table is the import contract."""

from __future__ import annotations

import re
import tomllib

from tests.docs.markdown import ROOT, code_spans, read_doc, table_rows, unticked

DOC = read_doc("architecture.md")
PATH = re.compile(r"^(bridge|mappings|tests|docs|demo)/[\w./-]*$")


def layers_contract() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [contract["layers"] for contract in contracts if contract["type"] == "layers"]
    return [str(layer) for layer in layers]


def test_layer_table_is_the_import_contract() -> None:
    documented = [unticked(row[1]) for row in table_rows(DOC, "Layer")]
    assert documented == layers_contract()


def test_every_named_path_exists() -> None:
    paths = {span for span in code_spans(DOC) if PATH.match(span)}
    assert paths
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"docs/architecture.md names missing paths: {missing}"
