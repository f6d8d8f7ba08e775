"""check-mappings: validate every mapping module and print the coverage matrix.

The matrix has three parts: each legacy order field and where it comes from on the Incentives
target; each Incentives error code we know of (the table's and the sandbox's) and the legacy
code and HTTP status it becomes; and, per mapping module, each target field and its source.
Anything unmapped is returned as a problem, which makes the command fail.
"""

from __future__ import annotations

from types import ModuleType

from bridge.canonical import ErrorCode
from bridge.incentives.config import OfferLink
from bridge.mapping import Mapping
from bridge.sandbox.errors import ERROR_STATUS
from bridge.store import tables
from mappings.errors import LEGACY_HTTP_STATUS
from mappings.incentives import MODULES
from mappings.incentives.errors import BY_CODE, BY_HTTP_STATUS
from mappings.incentives.legacy_order import LEGACY_ORDER_SOURCES, Source
from mappings.legacy.wire import OrderWire, UserWire

MODULE_NAMES = {module.__name__.rsplit(".", 1)[1]: module for module in MODULES}


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
        mappings = [m for m in vars(MODULE_NAMES[source.origin]).values() if isinstance(m, Mapping)]
        known = any(source.field in m.target.model_fields for m in mappings)
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
    name = module.__name__.rsplit(".", 1)[1]
    lines = [f"### {name} (`{getattr(module, 'PATH', getattr(module, 'PATH_BY_ID', '?'))}`)"]
    for attribute in ("REQUEST", "RESPONSE"):
        if not hasattr(module, attribute):
            problems.append(f"{module.__name__}: no {attribute} (set it to None if unused)")
            continue
        mapping = getattr(module, attribute)
        if mapping is None:
            continue
        assert isinstance(mapping, Mapping)
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
