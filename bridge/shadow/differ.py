"""A structural diff of two legacy answers, reported by path template, kind and both values.

Why not deepdiff: its paths name every index (`root['orders'][3]['status']`) and would need
rewriting into templates; keyed list matching and per-path equivalences would be callbacks
around it. The differ the comparison needs is this one small recursive function.

Kinds: `value` (same type, different value), `type` (different JSON types), `missing` (in
the primary only), `extra` (in the candidate only), `list_length` (positional lists of
different lengths; the values are the two lengths). Paths: keys joined by `.`, list
elements `[]`, the root `$`, e.g. `order.points`, `orders[].status`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ROOT = "$"
MAX_DIFFERENCES = 100
"""A comparison keeps at most this many differences (a broken answer differs everywhere)."""


class Kind(enum.StrEnum):
    VALUE = "value"
    TYPE = "type"
    MISSING = "missing"
    EXTRA = "extra"
    LIST_LENGTH = "list_length"


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    kind: Kind
    primary: Any
    candidate: Any


class Leniency(Protocol):
    """What the differ asks the rules: keyed lists, and scalars that count as equal."""

    @property
    def list_keys(self) -> Mapping[str, str]: ...

    def same_value(self, path: str, primary: Any, candidate: Any) -> bool: ...


def diff(primary: Any, candidate: Any, rules: Leniency) -> list[Difference]:
    """Every difference between two JSON documents (at most MAX_DIFFERENCES)."""
    found: list[Difference] = []
    _walk(ROOT, primary, candidate, rules, found)
    return found[:MAX_DIFFERENCES]


def child(path: str, key: str) -> str:
    return key if path == ROOT else f"{path}.{key}"


def _walk(
    path: str, primary: Any, candidate: Any, rules: Leniency, found: list[Difference]
) -> None:
    if len(found) >= MAX_DIFFERENCES:
        return
    if _json_type(primary) != _json_type(candidate):
        found.append(Difference(path, Kind.TYPE, primary, candidate))
    elif isinstance(primary, dict):
        _walk_objects(path, primary, candidate, rules, found)
    elif isinstance(primary, list):
        key = rules.list_keys.get(path)
        if key is None:
            _walk_positions(path, primary, candidate, rules, found)
        else:
            _walk_keyed(path, key, primary, candidate, rules, found)
    elif primary != candidate and not rules.same_value(path, primary, candidate):
        found.append(Difference(path, Kind.VALUE, primary, candidate))


def _walk_objects(
    path: str,
    primary: dict[str, Any],
    candidate: dict[str, Any],
    rules: Leniency,
    found: list[Difference],
) -> None:
    for key, value in primary.items():
        if key not in candidate:
            found.append(Difference(child(path, key), Kind.MISSING, value, None))
        else:
            _walk(child(path, key), value, candidate[key], rules, found)
    for key, value in candidate.items():
        if key not in primary:
            found.append(Difference(child(path, key), Kind.EXTRA, None, value))


def _walk_positions(
    path: str, primary: list[Any], candidate: list[Any], rules: Leniency, found: list[Difference]
) -> None:
    if len(primary) != len(candidate):
        found.append(Difference(path, Kind.LIST_LENGTH, len(primary), len(candidate)))
    for left, right in zip(primary, candidate, strict=False):
        _walk(f"{path}[]", left, right, rules, found)


def _walk_keyed(
    path: str,
    key: str,
    primary: list[Any],
    candidate: list[Any],
    rules: Leniency,
    found: list[Difference],
) -> None:
    """Match elements by their `key` field; unmatched ones are missing or extra."""
    element = f"{path}[]"
    by_key = {_key_of(item, key): item for item in candidate}
    matched: set[Any] = set()
    for item in primary:
        value = _key_of(item, key)
        if value in by_key and value not in matched:
            matched.add(value)
            _walk(element, item, by_key[value], rules, found)
        else:
            found.append(Difference(element, Kind.MISSING, item, None))
    for value, item in by_key.items():
        if value not in matched:
            found.append(Difference(element, Kind.EXTRA, None, item))


def _key_of(item: Any, key: str) -> Any:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
