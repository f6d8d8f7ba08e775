"""The cutover policy: which target serves each app's operations, read from a YAML file.

Per app a default (`target`, `canary`, `shadow`, `on_unavailable`) and per operation
overrides of any of those fields. The file is validated as a whole when it is loaded; an
error names the app, the operation and the field (docs/configuration.md, "Cutover policy").
Without a policy file, or for an app the file does not name, every operation goes to the
app's own `target` from the apps file, as before the policy existed.

A file must name what it means: an empty file, a file without an `apps` mapping, or an app
named with nothing after it (what a cut-off write leaves) is refused, and a running bridge
keeps its policy (bridge/cutover/source.py). `apps: {}` says "no overrides" explicitly.

Safety rules enforced at load:
- `legacy` (as target or canary target) needs the app's `legacy_base_url`.
- a write (`create_order`, `update_order_status`) may shadow only to `local` (the shadow
  store) or to a target marked `side_effect_free: true`;
- `on_unavailable: {fallback: local}` is allowed for reads always, and for writes only when
  the app declares `points_live_locally: true` (the local engine holds the app's points, so
  a write served there spends real points and cannot double-spend on a second system).
"""

from __future__ import annotations

import enum
import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bridge.canonical import Target
from bridge.settings import AppConfig


class Operation(enum.StrEnum):
    """The four legacy operations a policy routes."""

    CREATE_ORDER = "create_order"
    LIST_ORDERS = "list_orders"
    GET_ORDER = "get_order"
    UPDATE_ORDER_STATUS = "update_order_status"


WRITES = frozenset({Operation.CREATE_ORDER, Operation.UPDATE_ORDER_STATUS})


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message names app, operation and field."""


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CanaryLimits(PolicyModel):
    """How much worse than the baseline the canary may be before it is rolled back.

    Each limit is judged with a one-sided test at the analysis' `confidence`, not on the raw
    figures (bridge/canary/analysis.py); a limit left out (null) is not checked.
    """

    error_ratio_increase: float | None = Field(default=0.01, ge=0, le=1)
    """Canary failure ratio minus baseline failure ratio (failures: the bridge or its
    upstream failed, `not_available`/`internal_server_error`; business refusals excluded)."""
    p99_ratio: float | None = Field(default=1.5, gt=1)
    """Canary p99 latency over baseline p99 latency (and the canary slower by a rank test)."""
    shadow_mismatch_ratio: float | None = Field(default=None, ge=0, le=1)
    """Mismatches over compared calls of the shadow comparison on the canary's target."""
    reconcile_drift: int | None = Field(default=None, ge=0)
    """Drift rows the last `reconcile` run of the app found."""


class CanaryAnalysis(PolicyModel):
    """An automated canary: the database holds the step, this block the plan."""

    steps: tuple[float, ...] = Field(default=(1, 10, 25, 50, 100), min_length=1)
    interval_seconds: float = Field(default=60, gt=0, le=86_400)
    min_calls: int = Field(default=100, ge=1)
    """Calls each cohort needs in the window before the canary may advance."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    limits: CanaryLimits = CanaryLimits()

    @field_validator("steps")
    @classmethod
    def _steps_rise_to_100(cls, steps: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < step <= 100 for step in steps):
            raise ValueError("every step is a percentage in (0, 100]")
        if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
            raise ValueError("steps must rise strictly")
        if steps[-1] != 100:
            raise ValueError("the last step must be 100")
        return steps


class Canary(PolicyModel):
    """Send `percent` of the app's customers (chosen by a stable hash) to `target`; with
    `analysis`, the percentage is the current step of the plan, kept in the database."""

    target: Target
    percent: float | None = Field(default=None, ge=0, le=100)
    analysis: CanaryAnalysis | None = None

    @model_validator(mode="after")
    def _percent_or_analysis(self) -> Canary:
        if self.analysis is None and self.percent is None:
            raise ValueError("percent is required without analysis")
        if self.analysis is not None and self.percent is not None:
            raise ValueError("percent and analysis exclude each other (the analysis sets it)")
        return self


class Shadow(PolicyModel):
    """Repeat a sample of calls on `target` off the request path and compare the answers."""

    target: Target
    sample_rate: float = Field(default=1.0, ge=0, le=1)
    side_effect_free: bool = False


class Fallback(PolicyModel):
    fallback: Literal["local"]


OnUnavailable = Literal["fail"] | Fallback


class OperationOverride(PolicyModel):
    """Fields given here replace the app's defaults for one operation (`canary: null` removes)."""

    target: Target | None = None
    canary: Canary | None = None
    shadow: Shadow | None = None
    on_unavailable: OnUnavailable | None = None


class AppPolicyEntry(PolicyModel):
    target: Target | None = None
    """None: the app's `target` from the apps file."""
    canary: Canary | None = None
    shadow: Shadow | None = None
    on_unavailable: OnUnavailable = "fail"
    points_live_locally: bool = False
    operations: dict[Operation, OperationOverride] = {}


@dataclass(frozen=True, slots=True)
class OperationPolicy:
    """The resolved policy of one (app, operation): what the router reads."""

    target: Target
    canary: Canary | None = None
    shadow: Shadow | None = None
    fallback: Target | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "target": self.target.value,
            "canary": self.canary.model_dump(mode="json") if self.canary else None,
            "shadow": self.shadow.model_dump(mode="json") if self.shadow else None,
            "on_unavailable": {"fallback": self.fallback.value} if self.fallback else "fail",
        }


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    hash: str
    loaded_at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy: resolved (app, operation) entries plus its version."""

    entries: Mapping[tuple[str, Operation], OperationPolicy]
    version: PolicyVersion

    def for_operation(self, app: AppConfig, operation: Operation) -> OperationPolicy:
        found = self.entries.get((app.name, operation))
        return found if found is not None else OperationPolicy(target=app.target)

    def describe(self, apps: Iterable[AppConfig]) -> dict[str, Any]:
        """Every app's resolved policy per operation, for the admin endpoint."""
        return {
            app.name: {op.value: self.for_operation(app, op).describe() for op in Operation}
            for app in apps
        }


def default_policy(now: datetime) -> Policy:
    """No policy file: every app goes to its apps-file `target`."""
    return Policy({}, PolicyVersion(content_hash(b""), now, "apps file"))


def load_policy(path: Path, apps: Iterable[AppConfig], now: datetime) -> Policy:
    """Read and validate the policy file; raise PolicyError naming what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror}") from exc
    return parse_policy(raw, apps, now, source=str(path))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What the parser found wrong and where, on one line (never the file's text)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return type(exc).__name__


def parse_policy(raw: bytes, apps: Iterable[AppConfig], now: datetime, source: str) -> Policy:
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from exc
    except RecursionError as exc:
        raise PolicyError(f"{source}: not valid YAML: nested too deeply") from exc
    if document is None:
        raise PolicyError(f"{source}: the policy file is empty (write 'apps: {{}}' for none)")
    if isinstance(document, dict) and set(document) - {"apps"}:
        raise PolicyError(f"{source}: unknown top-level keys {sorted(set(document) - {'apps'})}")
    if not isinstance(document, dict) or not isinstance(document.get("apps"), dict):
        raise PolicyError(f"{source}: expected a mapping with an 'apps' mapping")
    known = {app.name: app for app in apps}
    entries: dict[tuple[str, Operation], OperationPolicy] = {}
    for name, body in document["apps"].items():
        app = known.get(str(name))
        if app is None:
            raise PolicyError(f"{source}: app {name!r}: not an app of the apps file")
        entry = _validate_entry(source, app.name, body)
        for operation in Operation:
            entries[(app.name, operation)] = _resolve(source, app, entry, operation)
    return Policy(entries, PolicyVersion(content_hash(raw), now, source))


def _validate_entry(source: str, app: str, body: object) -> AppPolicyEntry:
    if body is None:  # `acme:` and nothing after it: a cut-off file, not a decision
        raise PolicyError(f"{source}: app {app!r}: names no settings (write '{{}}' for none)")
    try:
        return AppPolicyEntry.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = [str(part) for part in first["loc"]]
        operation = "all operations"
        if len(location) >= 2 and location[0] == "operations":
            operation = f"operation {location[1]!r}"
            location = location[2:]
        field = ".".join(location) or "(entry)"
        raise PolicyError(
            f"{source}: app {app!r}, {operation}, field {field!r}: {first['msg']}"
        ) from exc


def _resolve(
    source: str, app: AppConfig, entry: AppPolicyEntry, operation: Operation
) -> OperationPolicy:
    fields: dict[str, Any] = {
        "target": entry.target or app.target,
        "canary": entry.canary,
        "shadow": entry.shadow,
        "on_unavailable": entry.on_unavailable,
    }
    override = entry.operations.get(operation)
    if override is not None:
        fields.update({name: getattr(override, name) for name in override.model_fields_set})
    target = fields["target"] or app.target
    on_unavailable = fields["on_unavailable"] or "fail"
    resolved = OperationPolicy(
        target=target,
        canary=fields["canary"],
        shadow=fields["shadow"],
        fallback=Target.LOCAL if isinstance(on_unavailable, Fallback) else None,
    )
    problem = _problem(app, entry, operation, resolved)
    if problem is not None:
        field, message = problem
        raise PolicyError(
            f"{source}: app {app.name!r}, operation {operation.value!r}, field {field!r}: {message}"
        )
    return resolved


def _problem(
    app: AppConfig, entry: AppPolicyEntry, operation: Operation, policy: OperationPolicy
) -> tuple[str, str] | None:
    """The first safety rule the resolved policy breaks, as (field, message), or None."""
    unreachable = _unreachable_target(app, policy)
    if unreachable is not None:
        return unreachable
    canary = policy.canary
    if canary is not None and canary.target is policy.target:
        return "canary.target", f"the same as the target ({policy.target.value})"
    shadow = policy.shadow
    if shadow is not None and shadow.target is policy.target:
        return "shadow.target", f"the same as the target ({policy.target.value})"
    if (
        shadow is not None
        and operation in WRITES
        and shadow.target is not Target.LOCAL
        and not shadow.side_effect_free
    ):
        return "shadow.target", (
            "a write may only shadow to local or to a target marked side_effect_free: true"
        )
    if policy.fallback is not None and operation in WRITES and not entry.points_live_locally:
        return "on_unavailable", (
            "fallback: local for a write needs points_live_locally: true for the app"
        )
    return None


def _unreachable_target(app: AppConfig, policy: OperationPolicy) -> tuple[str, str] | None:
    """A target (or canary target) the app's configuration cannot reach, as (field, message)."""
    chosen = [("target", policy.target)]
    if policy.canary is not None:
        chosen.append(("canary.target", policy.canary.target))
    for field, target in chosen:
        if target is Target.LEGACY and app.legacy_base_url is None:
            return field, "legacy needs the app's legacy_base_url in the apps file"
        if target is Target.INCENTIVES and app.incentives is None:
            return field, "incentives needs the app's incentives block in the apps file"
    return None


def content_hash(raw: bytes) -> str:
    """The version of a policy file: a short blake2b of its bytes."""
    return hashlib.blake2b(raw, digest_size=8).hexdigest()
