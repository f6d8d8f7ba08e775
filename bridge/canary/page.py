"""The automated canary for operators: `GET /_bridge/canary` (JSON) and
`GET /_bridge/canary/timeline` (HTML): every plan's step and status, and the decisions,
newest first, with when, what, why and the figures. Admin token as `/_bridge/policy`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from html import escape
from typing import Any

from aiohttp import web

from bridge.canary.context import CANARY_STORE
from bridge.canary.plan import PlanState
from bridge.canary.store import Decision, PlanKey
from bridge.legacy.responses import json_response
from bridge.runtime.admin import _refused as refused_without_token

HISTORY_LIMIT = 200


def add_canary_routes(app: web.Application) -> None:
    app.router.add_get("/_bridge/canary", show_canary)
    app.router.add_get("/_bridge/canary/timeline", show_timeline)


async def show_canary(request: web.Request) -> web.Response:
    if (refusal := refused_without_token(request)) is not None:
        return refusal
    plans, decisions = await _gather(request)
    return json_response(
        {
            "status": "ok",
            "plans": [describe_plan(key, state) for key, state in sorted(plans.items())],
            "decisions": [describe_decision(decision) for decision in decisions],
        }
    )


async def show_timeline(request: web.Request) -> web.Response:
    if (refusal := refused_without_token(request)) is not None:
        return refusal
    plans, decisions = await _gather(request)
    return web.Response(
        text=render_timeline(plans, decisions),
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


async def _gather(request: web.Request) -> tuple[dict[PlanKey, PlanState], list[Decision]]:
    plans = await request.app[CANARY_STORE].plans()
    decisions = await request.app[CANARY_STORE].history(limit=HISTORY_LIMIT)
    return plans, decisions


def describe_plan(key: PlanKey, state: PlanState) -> dict[str, Any]:
    return {
        "app": key[0],
        "operation": key[1],
        "percent": state.percent,
        "status": state.status.value,
        "version": state.version,
        "step_started_at": state.step_started_at.isoformat(),
        "decided_at": state.decided_at.isoformat(),
    }


def describe_decision(decision: Decision) -> dict[str, Any]:
    described = asdict(decision)
    described["at"] = decision.at.isoformat()
    return described


def render_timeline(plans: dict[PlanKey, PlanState], decisions: Iterable[Decision]) -> str:
    rows = "".join(_plan_row(key, state) for key, state in sorted(plans.items()))
    timeline = "".join(_decision_row(decision) for decision in decisions)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Canary</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
        ".rollback{color:#b00020;font-weight:bold}</style></head><body>"
        "<h1>Automated canary</h1><table><tr><th>app</th><th>operation</th><th>percent</th>"
        f"<th>status</th><th>since</th></tr>{rows}</table>"
        "<h2>Timeline</h2><table><tr><th>when</th><th>app</th><th>operation</th>"
        "<th>outcome</th><th>reason</th><th>from → to</th><th>by</th><th>figures</th></tr>"
        f"{timeline}</table></body></html>"
    )


def _plan_row(key: PlanKey, state: PlanState) -> str:
    cells = (
        key[0],
        key[1],
        f"{state.percent:g} %",
        state.status.value,
        state.step_started_at.isoformat(),
    )
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def _decision_row(decision: Decision) -> str:
    figures = ", ".join(
        f"{name}={value}" for name, value in decision.figures.items() if value is not None
    )
    cells = (
        decision.at.isoformat(),
        decision.app,
        decision.operation,
        decision.outcome,
        decision.reason,
        f"{decision.from_percent:g} % → {decision.to_percent:g} %",
        decision.actor,
        figures,
    )
    body = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
    return f'<tr class="{escape(decision.outcome)}">{body}</tr>'
