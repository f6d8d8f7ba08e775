"""Compare two legacy answers: HTTP status and body, through the operation's rules.

The result is `match` when no difference is left after the ignore rules, else `mismatch`.
The candidate's *unmapped error code* is noted too: an error code outside the legacy
vocabulary, or `internal_server_error` (what an answer the translation could not map
becomes). Any unmapped code in the window blocks the readiness verdict.
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


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str
    """match | mismatch"""
    judged: Judged
    unmapped_code: str | None


def compare(primary: Answer, candidate: Answer, rules: OperationRules, today: date) -> Outcome:
    differences: list[Difference] = []
    if primary.status != candidate.status:
        differences.append(Difference(STATUS_PATH, Kind.VALUE, primary.status, candidate.status))
    candidate_document = candidate.document()
    differences += diff(primary.document(), candidate_document, rules)
    judged = judge(differences, rules, today)
    result = "mismatch" if judged.shown else "match"
    return Outcome(result, judged, unmapped_code(candidate_document))


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
