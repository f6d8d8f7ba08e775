"""`orders-bridge policy set`: the kill switch, as an atomic edit of the policy file.

The edited document is validated with the same rules as a reload before it is written, and
written to a temporary file in the same directory that then replaces the policy file in one
rename, so a running bridge never reads a half-written file; its watcher (or a SIGHUP)
applies the new version. Comments in the file are not kept (the file is rewritten as YAML).
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bridge.canonical import Target
from bridge.policy import Operation, Policy, PolicyError, parse_policy
from bridge.settings import AppConfig


def set_target(
    document: dict[str, Any], app: str, target: Target, operation: Operation | None = None
) -> dict[str, Any]:
    """A copy of the policy document with `app` (or one operation) sent to `target`.

    The canary in that scope is removed, so every customer follows at once: at app scope the
    app's canary and every operation's own target and canary go; at operation scope that
    operation gets the target and `canary: null`.
    """
    edited = copy.deepcopy(document) if document else {}
    apps = edited.setdefault("apps", {})
    if apps is None:
        apps = edited["apps"] = {}
    entry = apps.setdefault(app, {}) or {}
    apps[app] = entry
    if operation is None:
        entry["target"] = target.value
        entry.pop("canary", None)
        for override in (entry.get("operations") or {}).values():
            if isinstance(override, dict):
                override.pop("target", None)
                override.pop("canary", None)
        return edited
    operations = entry.setdefault("operations", {}) or {}
    entry["operations"] = operations
    override = operations.setdefault(operation.value, {}) or {}
    operations[operation.value] = override
    override["target"] = target.value
    override["canary"] = None
    return edited


def set_canary(
    document: dict[str, Any], app: str, target: Target, percent: float
) -> dict[str, Any]:
    """A copy of the policy document with the app's canary set (percent 0 removes it)."""
    edited = copy.deepcopy(document) if document else {}
    apps = edited.get("apps") or {}
    edited["apps"] = apps
    entry = apps.get(app) or {}
    apps[app] = entry
    if percent == 0:
        entry.pop("canary", None)
    else:
        entry["canary"] = {"target": target.value, "percent": percent}
    return edited


def edit_policy_file(
    path: Path,
    apps: Iterable[AppConfig],
    now: datetime,
    *,
    app: str,
    target: Target,
    operation: Operation | None = None,
    canary_percent: float | None = None,
) -> Policy:
    """Validate and atomically write the edited policy; return the version now on disk.

    With `canary_percent` the app's canary is set to (`target`, percent); otherwise the app
    (or `operation`) is sent to `target` (`set_target`).
    """
    raw = path.read_bytes() if path.exists() else b""
    try:
        document = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: expected a mapping with an 'apps' mapping")
    if canary_percent is None:
        edited = set_target(document, app, target, operation)
    else:
        edited = set_canary(document, app, target, canary_percent)
    text = yaml.safe_dump(edited, sort_keys=False)
    policy = parse_policy(text.encode(), apps, now, source=str(path))
    write_atomically(path, text.encode())
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
