"""Comparison rules, validated: what the differ tolerates and which differences are hidden.

The rules themselves are data in `mappings/legacy/comparison.py`; this module turns them into
checked models when the app starts (a malformed rule fails start-up, not a comparison) and
decides, for a given day, which differences an ignore rule hides and which rules expired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.shadow.differ import Difference


class RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IgnoreRule(RulesModel):
    """Hide differences at `path` (or below it) until `expires` (inclusive)."""

    path: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    def covers(self, path: str) -> bool:
        return path == self.path or path.startswith((f"{self.path}.", f"{self.path}[]"))

    def expired(self, today: date) -> bool:
        return today > self.expires


class OperationRules(RulesModel):
    ignore: tuple[IgnoreRule, ...] = ()
    tolerance: dict[str, float] = {}
    time_tolerance: dict[str, Annotated[float, Field(ge=0)]] = {}
    """Seconds two date-times written alike may lie apart at a path."""
    list_keys: dict[str, str] = {}
    equivalent: dict[str, tuple[frozenset[str], ...]] = {}

    def same_value(self, path: str, primary: Any, candidate: Any) -> bool:
        """Whether two unequal scalars count as equal at `path` (tolerances, equivalence)."""
        tolerance = self.tolerance.get(path)
        if tolerance is not None and _number(primary) and _number(candidate):
            return bool(abs(primary - candidate) <= tolerance)
        seconds = self.time_tolerance.get(path)
        if seconds is not None:
            apart = seconds_apart(primary, candidate)
            return apart is not None and apart <= seconds
        groups = self.equivalent.get(path, ())
        return any(primary in group and candidate in group for group in groups)


NO_RULES = OperationRules()


@dataclass(frozen=True, slots=True)
class Judged:
    """The differences left after the ignore rules, and the rules that expired."""

    shown: tuple[Difference, ...]
    hidden: int
    expired: tuple[IgnoreRule, ...]


def load_rules(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, OperationRules]:
    """Validate the per-operation rules (the data in mappings/legacy/comparison.py)."""
    return {operation: OperationRules.model_validate(body) for operation, body in raw.items()}


def judge(differences: Iterable[Difference], rules: OperationRules, today: date) -> Judged:
    """Apply the ignore rules: live rules hide, expired rules hide nothing and are reported."""
    live = [rule for rule in rules.ignore if not rule.expired(today)]
    expired = tuple(rule for rule in rules.ignore if rule.expired(today))
    shown: list[Difference] = []
    hidden = 0
    for difference in differences:
        if any(rule.covers(difference.path) for rule in live):
            hidden += 1
        else:
            shown.append(difference)
    return Judged(tuple(shown), hidden, expired)


def seconds_apart(primary: Any, candidate: Any) -> float | None:
    """How far apart two date-times written the same way are; None when they are not that.

    Written the same way: both strings, the same characters wherever either has no digit
    (`2026-12-05 01:02:03` against `2026-12-05T01:02:03Z` is a real difference). A side
    without a zone is read as UTC on both sides alike.
    """
    if not isinstance(primary, str) or not isinstance(candidate, str):
        return None
    if _DIGIT.sub("0", primary) != _DIGIT.sub("0", candidate):
        return None
    try:
        left, right = _moment(primary), _moment(candidate)
    except ValueError:
        return None
    return abs((left - right).total_seconds())


_DIGIT = re.compile(r"[0-9]")


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
