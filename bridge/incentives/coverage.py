"""check-mappings: validate every mapping module and print the coverage matrix.

The matrix has three parts: each legacy order field and where it comes from on the Incentives
target; each Incentives error code we know of (the table's and the sandbox's) and the legacy
code and HTTP status it becomes; and, per mapping module, its declared calls (method, path,
read or write, the name they are counted under) and each target field of their mappings with
its source. Anything unmapped is returned as a problem, which makes the command fail.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from pydantic import BaseModel

from bridge.canonical import ErrorCode
from bridge.incentives.config import OfferLink
from bridge.mapping import Call, Mapping
from bridge.sandbox.errors import ERROR_STATUS
from bridge.store import tables
from mappings.errors import LEGACY_HTTP_STATUS
from mappings.incentives import MODULES
from mappings.incentives.errors import BY_CODE, BY_HTTP_STATUS
from mappings.incentives.legacy_order import LEGACY_ORDER_SOURCES, Source
from mappings.legacy.wire import OrderWire, UserWire

MODULE_NAMES = {module.__name__.rsplit(".", 1)[1]: module for module in MODULES}


def calls_of(module: ModuleType) -> list[Call]:
    """The calls a mapping module declares (`CALL`, and any other `Call` it defines)."""
    return [value for value in vars(module).values() if isinstance(value, Call)]


def _results(mapping: Mapping[Any] | None) -> list[type[BaseModel]]:
    """The canonical models a response mapping builds: its target and its lists' items."""
    if mapping is None:
        return []
    items = [line.item for line in mapping.lines if line.item is not None]
    return [mapping.target, *(model for item in items for model in _results(item))]


def legacy_fields() -> list[str]:
    fields = list(OrderWire.model_fields)
    fields += [f"user.{name}" for name in UserWire.model_fields if name != "id"]
    return fields


def _source_problem(name: str, source: Source) -> str | None:
    if source.origin == "ledger":
        known = source.field in tables.orders.c
    elif source.origin == "id map":
        known = source.field in OfferLink.model_fields
    elif source.origin in MODULE_NAMES:
        calls = calls_of(MODULE_NAMES[source.origin])
        results = [model for call in calls for model in _results(call.response)]
        known = any(source.field in model.model_fields for model in results)
    else:
        known = False
    return None if known else f"legacy field {name}: {source.origin}.{source.field} does not exist"


def _order_section(problems: list[str]) -> list[str]:
    lines = ["## Legacy order fields (Incentives target)", "", "| legacy field | from | note |"]
    lines.append("|---|---|---|")
    for name in legacy_fields():
        source = LEGACY_ORDER_SOURCES.get(name)
        if source is None:
            problems.append(f"legacy field {name}: no source")
            lines.append(f"| {name} | **UNMAPPED** | |")
            continue
        problem = _source_problem(name, source)
        if problem:
            problems.append(problem)
        lines.append(f"| {name} | {source.origin}: {source.field} | {source.note} |")
    return lines


def _error_section(problems: list[str], by_code: dict[str, tuple[ErrorCode, str]]) -> list[str]:
    lines = ["## Incentives errors", "", "| Incentives code | legacy code | HTTP | message |"]
    lines.append("|---|---|---|---|")
    for code in sorted(set(by_code) | set(ERROR_STATUS)):
        if code not in by_code:
            problems.append(f"Incentives error code {code}: no legacy code")
            lines.append(f"| {code} | **UNMAPPED** | | |")
            continue
        legacy, message = by_code[code]
        lines.append(f"| {code} | {legacy.value} | {LEGACY_HTTP_STATUS[legacy]} | {message} |")
    lines += ["", "| HTTP status without a known code | legacy code | HTTP |", "|---|---|---|"]
    for status, (legacy, _message) in sorted(BY_HTTP_STATUS.items()):
        lines.append(f"| {status} | {legacy.value} | {LEGACY_HTTP_STATUS[legacy]} |")
    lines.append("| any other (5xx, timeouts, malformed) | not_available | 503 |")
    return lines


def _module_section(module: ModuleType, problems: list[str]) -> list[str]:
    calls = calls_of(module)
    lines = [f"### {module.__name__.rsplit('.', 1)[1]}", ""]
    if not calls:
        problems.append(f"{module.__name__}: declares no Call")
        return lines
    for call in calls:
        kind = "read" if call.read else "write"
        lines.append(f"- `{call.method} {call.path}` ({kind}, counted as `{call.name}`)")
    for mapping in dict.fromkeys(m for c in calls for m in (c.request, c.response) if m):
        lines += ["", f"{mapping.direction}:", "", "| field | from |", "|---|---|"]
        lines += [f"| {field} | {source} |" for field, source in mapping.sources().items()]
    return [*lines, ""]


def coverage_report(
    by_code: dict[str, tuple[ErrorCode, str]] = BY_CODE,
) -> tuple[str, list[str]]:
    """The matrix as Markdown, and every problem found (`by_code`: the error table to check)."""
    problems: list[str] = []
    lines = ["# Mapping coverage", ""]
    lines += [*_order_section(problems), "", *_error_section(problems, by_code)]
    lines += ["", "## Mapping modules", ""]
    for module in MODULES:
        lines += _module_section(module, problems)
    return "\n".join(lines), problems
