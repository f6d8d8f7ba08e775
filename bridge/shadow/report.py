"""The shadow report: per app and operation, comparisons, match rate, top fields, verdict.

One structure (plain JSON data) feeds the three views: `orders-bridge shadow report` (table
or `--json`), `GET /_bridge/shadow` and the status page at `/_bridge/`. Built from the diff
store, the comparison rules (expired ignores), the calibration runs (noise) and the active
policy.

- A field's *noise rate* is how often it differed between two runs of the primary
  (calibration). As in Diffy, a field whose difference rate does not exceed its noise rate is
  flagged `noise`; noisy fields are proposed as ignore rules, never applied.
- The *readiness verdict* of an operation: ready when the readiness window holds at least
  `ready_min_comparisons` shadow comparisons, their match rate is at least
  `ready_match_rate`, and no unmapped error code was seen in the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from bridge.cutover.policy import Operation
from bridge.shadow.comparison import ERROR, MATCH, MISMATCH, NOT_COMPARABLE
from bridge.shadow.config import ShadowSettings
from bridge.shadow.rules import OperationRules
from bridge.shadow.since import parse_since as parse_since  # one parser, also for reconcile
from bridge.store.shadow_diffs import FieldCount, Scope, ShadowDiffs

TOP_FIELDS = 10
PROPOSAL_DAYS = 30
SHADOW, CALIBRATION = "shadow", "calibration"


@dataclass(frozen=True, slots=True)
class ReportInput:
    since: datetime
    now: datetime
    scopes: Sequence[Scope]
    """Everything stored since `since`."""
    window: Sequence[Scope]
    """Everything stored in the readiness window."""
    config: ShadowSettings
    rules: Mapping[str, OperationRules]
    policy: Mapping[str, Mapping[str, Any]]
    """Resolved policy per app and operation (Policy.describe); its apps are the rows."""


def build_report(given: ReportInput, app: str | None = None) -> dict[str, Any]:
    keys = _row_keys(given, app)
    by_key = {(s.app, s.operation, s.mode): s for s in given.scopes}
    window = {(s.app, s.operation, s.mode): s for s in given.window}
    rows = [
        _row(given, name, operation, by_key, window.get((name, operation, SHADOW)))
        for name, operation in keys
    ]
    return {
        "generated_at": given.now.isoformat(),
        "since": given.since.isoformat(),
        "readiness": {
            "min_comparisons": given.config.ready_min_comparisons,
            "match_rate": given.config.ready_match_rate,
            "window_hours": given.config.ready_window_hours,
        },
        "operations": rows,
    }


def window_start(now: datetime, config: ShadowSettings) -> datetime:
    return now - timedelta(hours=config.ready_window_hours)


def _row_keys(given: ReportInput, app: str | None) -> list[tuple[str, str]]:
    keys = {(name, op.value) for name in given.policy for op in Operation}
    keys |= {(scope.app, scope.operation) for scope in given.scopes}
    return sorted(key for key in keys if app is None or key[0] == app)


def _row(
    given: ReportInput,
    app: str,
    operation: str,
    scopes: Mapping[tuple[str, str, str], Scope],
    window: Scope | None,
) -> dict[str, Any]:
    shadow = scopes.get((app, operation, SHADOW)) or Scope(app, operation, SHADOW)
    calibration = scopes.get((app, operation, CALIBRATION))
    counts = Counts.of(shadow)
    noise = _noise_rates(calibration)
    rules = given.rules.get(operation, OperationRules())
    today = given.now.date()
    return {
        "app": app,
        "operation": operation,
        "policy": given.policy.get(app, {}).get(operation),
        "comparisons": sum(shadow.results.values()),
        "matches": counts.matches,
        "mismatches": counts.mismatches,
        "errors": counts.errors,
        "not_comparable": counts.not_comparable,
        "match_rate": _rate(counts.matches, counts.decided),
        "unmapped_codes": dict(shadow.unmapped_codes),
        "fields": [_field(item, counts.decided, noise) for item in shadow.fields[:TOP_FIELDS]],
        "verdict": verdict(window, given.config),
        "calibration_runs": sum(calibration.results.values()) if calibration else 0,
        "proposed_ignores": _proposals(calibration, rules, today),
        "expired_rules": [
            rule.model_dump(mode="json") for rule in rules.ignore if rule.expired(today)
        ],
    }


@dataclass(frozen=True, slots=True)
class Counts:
    """The outcomes of a scope. Only matches and mismatches judge the translation."""

    matches: int = 0
    mismatches: int = 0
    errors: int = 0
    not_comparable: int = 0

    @classmethod
    def of(cls, scope: Scope | None) -> Counts:
        results = scope.results if scope is not None else {}
        return cls(*(results.get(name, 0) for name in (MATCH, MISMATCH, ERROR, NOT_COMPARABLE)))

    @property
    def decided(self) -> int:
        return self.matches + self.mismatches


def verdict(window: Scope | None, config: ShadowSettings) -> dict[str, Any]:
    """Ready, not ready, or undecidable: the errors (shadow calls that failed) could make it
    either, had they been compared: ready if they had all matched, not if none had."""
    counts = Counts.of(window)
    codes = sorted(window.unmapped_codes) if window is not None else []
    reasons = _reasons(counts.matches, counts.mismatches, codes, config)
    best = _reasons(counts.matches + counts.errors, counts.mismatches, codes, config)
    worst = _reasons(counts.matches, counts.mismatches + counts.errors, codes, config)
    state = "ready" if not worst else "not_ready" if best else "undecidable"
    if state == "undecidable":
        reasons = [
            f"{counts.errors} shadow calls failed (errors): compared, they could make it "
            "ready or not",
            *reasons,
        ]
    return {
        "ready": state == "ready",
        "state": state,
        "reasons": reasons,
        "window_comparisons": counts.decided,
        "window_match_rate": _rate(counts.matches, counts.decided),
        "window_errors": counts.errors,
        "window_not_comparable": counts.not_comparable,
    }


def _reasons(
    matches: int, mismatches: int, codes: Sequence[str], config: ShadowSettings
) -> list[str]:
    decided = matches + mismatches
    rate = _rate(matches, decided)
    reasons: list[str] = []
    if decided < config.ready_min_comparisons:
        reasons.append(
            f"{decided} of {config.ready_min_comparisons} comparisons needed "
            f"in the last {config.ready_window_hours} h"
        )
    if rate is not None and rate < config.ready_match_rate:
        reasons.append(f"match rate {rate:.2%} is below {config.ready_match_rate:.2%}")
    if codes:
        reasons.append(f"unmapped error code seen: {', '.join(codes)}")
    return reasons


def _field(item: FieldCount, comparisons: int, noise: Mapping[str, float]) -> dict[str, Any]:
    rate = _rate(item.count, comparisons) or 0.0
    noise_rate = noise.get(item.path)
    return {
        "path": item.path,
        "kind": item.kind,
        "count": item.count,
        "rate": rate,
        "noise_rate": noise_rate,
        "noise": noise_rate is not None and rate <= noise_rate,
        "sample": _sample(item.sample),
    }


def _noise_rates(calibration: Scope | None) -> dict[str, float]:
    if calibration is None:
        return {}
    runs = sum(calibration.results.values())
    rates: dict[str, float] = {}
    for item in calibration.fields:
        rates[item.path] = max(rates.get(item.path, 0.0), _rate(item.count, runs) or 0.0)
    return rates


def _proposals(calibration: Scope | None, rules: OperationRules, today: date) -> list[Any]:
    """Ignore rules for fields that differ between two runs of the primary (never applied)."""
    if calibration is None:
        return []
    runs = sum(calibration.results.values())
    proposals: dict[str, dict[str, Any]] = {}
    for item in calibration.fields:
        if item.path in proposals or any(rule.covers(item.path) for rule in rules.ignore):
            continue
        proposals[item.path] = {
            "path": item.path,
            "owner": "(fill in)",
            "reason": (
                f"differs between two runs of the primary in {item.count} of {runs} "
                "calibration calls"
            ),
            "expires": (today + timedelta(days=PROPOSAL_DAYS)).isoformat(),
        }
    return list(proposals.values())


def _sample(sample: tuple[str, str] | None) -> dict[str, Any] | None:
    if sample is None:
        return None
    return {"primary": orjson.loads(sample[0]), "candidate": orjson.loads(sample[1])}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def render_table(report: Mapping[str, Any]) -> str:
    """The report as a plain-text table, for the terminal."""
    lines = [f"shadow report since {report['since']}", ""]
    header = (
        f"{'APP':<16} {'OPERATION':<20} {'MATCH':>7} {'MISMATCH':>8} {'ERROR':>7} "
        f"{'N/C':>7} {'RATE':>7}  VERDICT"
    )
    lines += [header, "-" * len(header)]
    for row in report["operations"]:
        lines += list(_row_lines(row))
    return "\n".join(lines) + "\n"


def _row_lines(row: Mapping[str, Any]) -> Iterable[str]:
    rate = row["match_rate"]
    shown = f"{rate:.1%}" if rate is not None else "-"
    verdict_text = row["verdict"]["state"].replace("_", " ")
    yield (
        f"{row['app']:<16} {row['operation']:<20} {row['matches']:>7} {row['mismatches']:>8} "
        f"{row['errors']:>7} {row['not_comparable']:>7} {shown:>7}  {verdict_text}"
    )
    for reason in row["verdict"]["reasons"]:
        yield f"    - {reason}"
    for item in row["fields"]:
        sample = item["sample"] or {}
        noise = " (noise)" if item["noise"] else ""
        yield (
            f"    {item['path']} [{item['kind']}] x{item['count']}{noise}: "
            f"primary={_short(sample.get('primary'))} candidate={_short(sample.get('candidate'))}"
        )
    for rule in row["expired_rules"]:
        yield f"    ! expired ignore rule {rule['path']} (owner {rule['owner']}, {rule['expires']})"
    for proposal in row["proposed_ignores"]:
        yield f"    ? proposed ignore {proposal['path']}: {proposal['reason']}"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


async def gather_report(
    diffs: ShadowDiffs,
    *,
    now: datetime,
    config: ShadowSettings,
    rules: Mapping[str, OperationRules],
    policy: Mapping[str, Mapping[str, Any]],
    since: datetime | None = None,
    app: str | None = None,
) -> dict[str, Any]:
    """Read the store for the report window and the readiness window, then build the report."""
    start = window_start(now, config)
    given = ReportInput(
        since=since or start,
        now=now,
        scopes=await diffs.scopes(since or start, app),
        window=await diffs.scopes(start, app),
        config=config,
        rules=rules,
        policy=policy,
    )
    return build_report(given, app)
