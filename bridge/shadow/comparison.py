"""Compare two legacy answers: HTTP status and body, through the operation's rules.

Outcomes, each counted on its own:
- `match`: no difference is left after the ignore rules;
- `mismatch`: some difference is left;
- `error`: the candidate side failed to answer: a 5xx answer (connection lost, timeout,
  breaker open and upstream down all become one), or no answer at all (the runner);
- `not_comparable`: there is nothing to compare: the primary itself failed (5xx), or the
  shadow side never saw the order the call is about (bridge/shadow/correlation.py).

Only matches and mismatches judge the translation (the readiness verdict). The candidate's
*unmapped error code* is noted on every outcome: an error code outside the legacy vocabulary,
or `internal_server_error` (what an answer the translation could not map becomes). Any
unmapped code in the window blocks the readiness verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bridge.canonical import ErrorCode
from bridge.shadow.differ import Difference, Kind, diff
from bridge.shadow.exchange import Answer
from bridge.shadow.rules import Judged, OperationRules, judge

STATUS_PATH = "http_status"
KNOWN_CODES = frozenset(code.value for code in ErrorCode)
CODE_SHAPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
MATCH, MISMATCH, ERROR, NOT_COMPARABLE = "match", "mismatch", "error", "not_comparable"
OUTCOMES = (MATCH, MISMATCH, ERROR, NOT_COMPARABLE)
NOTHING = Judged((), 0, ())


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str
    """match | mismatch | error | not_comparable"""
    judged: Judged
    unmapped_code: str | None


@dataclass(frozen=True, slots=True)
class Documents:
    """Two answers as the differ reads them: status and parsed body."""

    primary_status: int
    primary: Any
    candidate_status: int
    candidate: Any

    @classmethod
    def of(cls, primary: Answer, candidate: Answer) -> Documents:
        return cls(primary.status, primary.document(), candidate.status, candidate.document())


def failed(status: int) -> bool:
    """An answer that says the side could not serve the call (5xx)."""
    return status >= 500


def compare(primary: Answer, candidate: Answer, rules: OperationRules, today: date) -> Outcome:
    return compare_documents(Documents.of(primary, candidate), rules, today)


def compare_documents(documents: Documents, rules: OperationRules, today: date) -> Outcome:
    code = unmapped_code(documents.candidate)
    if failed(documents.primary_status):
        return Outcome(NOT_COMPARABLE, NOTHING, None)
    if failed(documents.candidate_status):
        return Outcome(ERROR, NOTHING, code)
    differences: list[Difference] = []
    if documents.primary_status != documents.candidate_status:
        differences.append(
            Difference(
                STATUS_PATH, Kind.VALUE, documents.primary_status, documents.candidate_status
            )
        )
    differences += diff(documents.primary, documents.candidate, rules)
    judged = judge(differences, rules, today)
    return Outcome(MISMATCH if judged.shown else MATCH, judged, code)


def unmapped_code(document: Any) -> str | None:
    """The error code of an error answer when it is unmapped (module docstring), else None."""
    if not isinstance(document, dict) or document.get("status") != "error":
        return None
    errors = document.get("errors")
    code = errors.get("code") if isinstance(errors, dict) else None
    if not isinstance(code, str) or not CODE_SHAPE.fullmatch(code):
        return "other"
    if code not in KNOWN_CODES or code == ErrorCode.INTERNAL_SERVER_ERROR.value:
        return code
    return None
