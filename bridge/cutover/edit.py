"""`orders-bridge policy set|canary|shadow`: atomic edits of the policy file that keep its comments.

The file is read and written with ruamel.yaml's round-trip mode, so comments, key order and
flow style of everything the edit does not touch stay as they were. The edited document is
validated with the same rules as a reload before it is written, and written to a temporary
file in the same directory that then replaces the policy file in one rename, so a running
bridge never reads a half-written file; its watcher (or a SIGHUP, or `POST
/_bridge/policy/reload`) applies the new version.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bridge.canonical import Target
from bridge.cutover.policy import Operation, Policy, PolicyError, parse_policy
from bridge.settings import AppConfig

Document = dict[str, Any]
Edit = Callable[[Document], None]
"""Changes a policy document in place (the caller hands it a copy)."""


def _entry(document: Document, app: str) -> dict[str, Any]:
    """The app's mapping in `document["apps"]`, created when missing or empty."""
    if not document.get("apps"):
        document["apps"] = {}
    apps = document["apps"]
    if not apps.get(app):
        apps[app] = {}
    entry: dict[str, Any] = apps[app]
    return entry


def _override(entry: dict[str, Any], operation: Operation) -> dict[str, Any]:
    """The operation's mapping in the app entry, created when missing or empty."""
    if not entry.get("operations"):
        entry["operations"] = {}
    operations = entry["operations"]
    if not operations.get(operation.value):
        operations[operation.value] = {}
    override: dict[str, Any] = operations[operation.value]
    return override


def _operation_overrides(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in (entry.get("operations") or {}).values() if isinstance(o, dict)]


def _number(value: float) -> float | int:
    """`10` rather than `10.0` in the file for a whole number."""
    return int(value) if float(value).is_integer() else value


def target_edit(app: str, target: Target, operation: Operation | None = None) -> Edit:
    """Send `app` (or one operation) to `target`, without a canary in that scope.

    At app scope the app's canary and every operation's own target and canary go, so every
    customer follows at once; at operation scope that operation gets the target and
    `canary: null`.
    """

    def edit(document: Document) -> None:
        entry = _entry(document, app)
        if operation is not None:
            override = _override(entry, operation)
            override["target"] = target.value
            override["canary"] = None
            return
        entry["target"] = target.value
        entry.pop("canary", None)
        for override in _operation_overrides(entry):
            override.pop("target", None)
            override.pop("canary", None)

    return edit


def canary_edit(app: str, target: Target, percent: float) -> Edit:
    """Set the app's canary to (`target`, `percent`); percent 0 removes it."""

    def edit(document: Document) -> None:
        entry = _entry(document, app)
        if percent == 0:
            entry.pop("canary", None)
        else:
            entry["canary"] = {"target": target.value, "percent": _number(percent)}

    return edit


def shadow_edit(
    app: str,
    target: Target | None,
    sample_rate: float = 1.0,
    operation: Operation | None = None,
) -> Edit:
    """Shadow the app (or one operation) to `target`; `target=None` clears shadows.

    Clearing at app scope removes the app's shadow and every operation's own shadow; at
    operation scope, that operation's.
    """

    def edit(document: Document) -> None:
        entry = _entry(document, app)
        scope = entry if operation is None else _override(entry, operation)
        if target is not None:
            scope["shadow"] = {"target": target.value, "sample_rate": _number(sample_rate)}
            return
        scope.pop("shadow", None)
        if operation is None:
            for override in _operation_overrides(entry):
                override.pop("shadow", None)

    return edit


def edited(document: Document, edit: Edit) -> Document:
    """A copy of `document` with `edit` applied (the original is left alone).

    Operation overrides the edit left empty are dropped, and `operations` with them when
    none is left: `list_orders: {}` says nothing.
    """
    result = copy.deepcopy(document) if document else {}
    edit(result)
    for entry in (result.get("apps") or {}).values():
        operations = entry.get("operations") if isinstance(entry, dict) else None
        if not isinstance(operations, dict):
            continue
        for name in [name for name, override in operations.items() if override == {}]:
            del operations[name]
        if not operations:
            del entry["operations"]
    return result


def set_target(
    document: Document, app: str, target: Target, operation: Operation | None = None
) -> Document:
    return edited(document, target_edit(app, target, operation))


def set_canary(document: Document, app: str, target: Target, percent: float) -> Document:
    return edited(document, canary_edit(app, target, percent))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_policy_file(path: Path, apps: Iterable[AppConfig], now: datetime, edit: Edit) -> Policy:
    """Validate and atomically write the edited policy; return the version now on disk."""
    yaml = _yaml()
    raw = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        document = yaml.load(raw) or {}
    except YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: expected a mapping with an 'apps' mapping")
    stream = io.StringIO()
    yaml.dump(edited(document, edit), stream)
    text = stream.getvalue().encode()
    policy = parse_policy(text, apps, now, source=str(path))
    write_atomically(path, text)
    return policy


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
