"""Golden JSON pairs for every Incentives mapping module, both directions, and round trips.

tests/mappings/golden/incentives/<module>.json holds, per direction, what the mapping is given
(and, for a mapping with `supplied` fields, what its caller supplies) and what it must build.
Where a mapping is reversible, building back from the expected side
must give the input again. A module's other declared mappings (`LEGACY_OFFER`: a catalog entry
and its id-map link -> the legacy offer) have a pair under their own name too.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bridge.mapping import Mapping
from mappings.incentives import MODULES

GOLDEN = Path(__file__).parent / "golden" / "incentives"
MAPPINGS = ("REQUEST", "RESPONSE", "LEGACY_OFFER")
"""The module attributes that hold a mapping (None or absent where a module has none)."""
CASES = [
    pytest.param(module, attribute, id=f"{module.__name__.rsplit('.', 1)[1]}-{attribute.lower()}")
    for module in MODULES
    for attribute in MAPPINGS
    if getattr(module, attribute, None) is not None
]
REVERSIBLE = [case for case in CASES if getattr(*case.values).reversible]
"""Round trips are defined where a mapping has only renames and invertible converters."""


def golden(module: ModuleType, attribute: str) -> dict[str, Any]:
    document = json.loads((GOLDEN / f"{module.__name__.rsplit('.', 1)[1]}.json").read_text())
    pair: dict[str, Any] = document[attribute.lower()]
    return pair


@pytest.mark.parametrize(("module", "attribute"), CASES)
def test_mapping_builds_the_golden_output(module: ModuleType, attribute: str) -> None:
    mapping: Mapping[Any] = getattr(module, attribute)
    pair = golden(module, attribute)
    built = mapping.apply(mapping.source.model_validate(pair["given"]), **pair.get("supplied", {}))
    assert built.model_dump(mode="json") == pair["expected"]


@pytest.mark.parametrize(("module", "attribute"), REVERSIBLE)
def test_reversible_mapping_round_trips(module: ModuleType, attribute: str) -> None:
    mapping: Mapping[Any] = getattr(module, attribute)
    pair = golden(module, attribute)
    given = mapping.source.model_validate(pair["given"])
    back = mapping.reverse().apply(mapping.target.model_validate(pair["expected"]))
    assert back.model_dump(mode="json") == given.model_dump(mode="json")


def test_every_module_has_a_golden_file() -> None:
    names = {module.__name__.rsplit(".", 1)[1] for module in MODULES}
    assert {path.stem for path in GOLDEN.glob("*.json")} == names
