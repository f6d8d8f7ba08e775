"""Replay recorded legacy requests against two targets offline and compare the answers.

`orders-bridge replay FILE --primary URL --candidate URL` reads the recorder's JSON lines,
sends each request to both base URLs (a legacy Orders API or a bridge) with the recorded
app's credentials from the apps file, compares the two answers with the same comparator and
rules as the shadow runner, and prints the same report. Writes are skipped unless
`--include-writes` is given: replaying a write spends points on both targets.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from tqdm import tqdm

from bridge.cutover.policy import WRITES, Operation
from bridge.settings import AppConfig
from bridge.shadow.comparison import compare
from bridge.shadow.config import ShadowSettings
from bridge.shadow.exchange import Answer
from bridge.shadow.masking import masked_json
from bridge.shadow.recorder import API_KEY_PLACEHOLDER
from bridge.shadow.report import ReportInput, build_report
from bridge.shadow.rules import NO_RULES, OperationRules
from bridge.store.shadow_diffs import FieldCount, Scope


@dataclass(frozen=True, slots=True)
class Recorded:
    app: str
    operation: Operation
    method: str
    path: str
    body: Any


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    primary: str
    candidate: str
    include_writes: bool = False
    timeout_seconds: float = 10.0


def read_recording(path: Path) -> Iterator[Recorded]:
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                raw = orjson.loads(line)
                yield Recorded(
                    raw["app"], Operation(raw["operation"]), raw["method"], raw["path"], raw["body"]
                )


class Tally:
    """Comparisons in memory, shaped like the diff store's scopes (one per app, operation)."""

    def __init__(self) -> None:
        self._scopes: dict[tuple[str, str], Scope] = {}
        self._fields: dict[tuple[str, str], dict[tuple[str, str], list[Any]]] = {}
        self.skipped = 0

    def add(self, app: str, operation: str, result: str, found: Iterable[Any] = ()) -> None:
        key = (app, operation)
        scope = self._scopes.setdefault(key, Scope(app, operation, "shadow"))
        scope.results[result] = scope.results.get(result, 0) + 1
        fields = self._fields.setdefault(key, {})
        for difference in found:
            entry = fields.setdefault((difference.path, difference.kind.value), [0, None])
            entry[0] += 1
            entry[1] = (
                masked_json(difference.path, difference.primary),
                masked_json(difference.path, difference.candidate),
            )

    def note_unmapped(self, app: str, operation: str, code: str) -> None:
        scope = self._scopes[(app, operation)]
        scope.unmapped_codes[code] = scope.unmapped_codes.get(code, 0) + 1

    def scopes(self) -> list[Scope]:
        for key, scope in self._scopes.items():
            counted = sorted(self._fields.get(key, {}).items(), key=lambda item: -item[1][0])
            scope.fields = [
                FieldCount(path, kind, n, sample) for (path, kind), (n, sample) in counted
            ]
        return list(self._scopes.values())


async def replay(
    recording: list[Recorded],
    apps: Iterable[AppConfig],
    plan: ReplayPlan,
    rules: Mapping[str, OperationRules],
    now: datetime,
    config: ShadowSettings,
    progress: bool = True,
) -> dict[str, Any]:
    """Send every recorded request to both targets, compare, and build the report."""
    by_name = {app.name: app for app in apps}
    tally = Tally()
    timeout = aiohttp.ClientTimeout(total=plan.timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for item in tqdm(recording, desc="replay", unit="call", disable=None if progress else True):
            app = by_name.get(item.app)
            if app is None or (item.operation in WRITES and not plan.include_writes):
                tally.skipped += 1
                continue
            await _compare_one(session, item, app, plan, rules, now, tally)
    scopes = tally.scopes()
    given = ReportInput(
        since=now, now=now, scopes=scopes, window=scopes, config=config, rules=rules, policy={}
    )
    report = build_report(given)
    report["replay"] = {"requests": len(recording), "skipped": tally.skipped}
    return report


async def _compare_one(
    session: aiohttp.ClientSession,
    item: Recorded,
    app: AppConfig,
    plan: ReplayPlan,
    rules: Mapping[str, OperationRules],
    now: datetime,
    tally: Tally,
) -> None:
    operation = item.operation.value
    try:
        primary, candidate = await asyncio.gather(
            _send(session, plan.primary, item, app), _send(session, plan.candidate, item, app)
        )
    except (TimeoutError, aiohttp.ClientError):
        tally.add(app.name, operation, "error")
        return
    outcome = compare(primary, candidate, rules.get(operation, NO_RULES), now.date())
    tally.add(app.name, operation, outcome.result, outcome.judged.shown)
    if outcome.unmapped_code is not None:
        tally.note_unmapped(app.name, operation, outcome.unmapped_code)


async def _send(
    session: aiohttp.ClientSession, base: str, item: Recorded, app: AppConfig
) -> Answer:
    path = item.path.replace(API_KEY_PLACEHOLDER, app.api_key)
    token = base64.b64encode(f"{app.api_key}:{app.api_secret.get_secret_value()}".encode())
    headers = {"Authorization": f"Basic {token.decode()}"}
    body = orjson.dumps(item.body) if item.body is not None else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    async with session.request(
        item.method, base.rstrip("/") + path, data=body, headers=headers
    ) as answer:
        return Answer(answer.status, await answer.read())
