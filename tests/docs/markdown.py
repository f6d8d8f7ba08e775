"""Just enough Markdown reading for the doc tests: tables, code blocks, backticked names."""

from __future__ import annotations

import enum
import re
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def read_doc(name: str) -> str:
    """A file under docs/, or the README when `name` is README.md."""
    path = ROOT / name if name == "README.md" else DOCS / name
    return path.read_text(encoding="utf-8")


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """Body rows of every table whose first header cell is `first_header`, cells stripped.

    A cell's escaped pipe (`\\|`, as GitHub writes a pipe inside a table) is a pipe.
    """
    rows: list[list[str]] = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [
            cell.strip().replace(r"\|", "|")
            for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))
        ]
        if cells[0] == first_header:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            rows.append(cells)
    return rows


def table_records(text: str, first_header: str) -> list[dict[str, str]]:
    """Body rows of every table whose first header cell is `first_header`, keyed by header."""
    records: list[dict[str, str]] = []
    headers: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            headers = []
            continue
        cells = [
            cell.strip().replace(r"\|", "|")
            for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))
        ]
        if cells[0] == first_header:
            headers = cells
        elif headers and not set(cells[0]) <= set("-: "):
            records.append(dict(zip(headers, cells, strict=False)))
    return records


def code_blocks(text: str, language: str | None = None) -> list[str]:
    """Contents of fenced code blocks, optionally only those tagged with `language`."""
    return [body for lang, body in _FENCE.findall(text) if language is None or lang == language]


def code_spans(text: str) -> set[str]:
    """Every `backticked` string in the text."""
    return set(_CODE_SPAN.findall(text))


def unticked(cell: str) -> str:
    """A table cell without its surrounding backticks."""
    return cell.strip().strip("`")


def rendered_default(field: FieldInfo, none: str = "unset") -> str | None:
    """How the docs write a field's default in a table cell; None when it is too rich for one."""
    default = field.default
    if default is PydanticUndefined:
        return "required"
    if default is None:
        return none
    if default == ():
        return "empty"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, enum.Enum):
        return str(default.value)
    if isinstance(default, str | int | float):
        return str(default)
    return None
