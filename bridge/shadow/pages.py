"""The operator's shadow views: `GET /_bridge/shadow` (JSON) and the status page `GET /_bridge/`.

Both are authenticated with the admin token of the policy view (`BRIDGE_ADMIN_TOKEN`): as
`Authorization: Bearer TOKEN`, or, so a browser can open the page, as HTTP Basic with any
user name and the token as password. Without an admin token both answer 404. Query:
`app=NAME` and `since=` (ISO date/date-time, or `6h` / `7d`).

The page is one server-rendered HTML document (inline CSS, no script, no build step); every
value on it is HTML-escaped and comes from the masked diff store.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bridge.canonical import ErrorCode
from bridge.clock import Clock
from bridge.legacy.responses import error_response, json_response
from bridge.runtime.admin import ADMIN_TOKEN, POLICY_SOURCE
from bridge.shadow.config import ShadowSettings
from bridge.shadow.report import gather_report
from bridge.shadow.rules import OperationRules
from bridge.shadow.since import parse_since
from bridge.shadow.status_page import render_page
from bridge.store.shadow_diffs import ShadowDiffs


@dataclass(frozen=True, slots=True)
class ShadowBoard:
    """What the views read: the diff store, the rules, the shadow settings, the clock."""

    diffs: ShadowDiffs
    rules: Mapping[str, OperationRules]
    config: ShadowSettings
    clock: Clock


SHADOW_BOARD = web.AppKey("shadow_board", ShadowBoard)
APP_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""What an app name may be (bridge/settings.py); anything else names no app."""
REALM = 'Basic realm="orders-bridge admin", charset="UTF-8"'


def add_shadow_routes(app: web.Application) -> None:
    app.router.add_get("/_bridge/shadow", show_report)
    app.router.add_get("/_bridge/", show_status_page)


async def show_report(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    report = await _report(request)
    if isinstance(report, web.Response):
        return report
    return json_response({"status": "ok", "report": report})


async def show_status_page(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        if refused.status == 401:
            refused.headers["WWW-Authenticate"] = REALM
        return refused
    report = await _report(request)
    if isinstance(report, web.Response):
        return report
    version = request.app[POLICY_SOURCE].current().version
    return web.Response(
        text=render_page(report, version.hash, version.loaded_at.isoformat()),
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


async def _report(request: web.Request) -> dict[str, Any] | web.Response:
    board = request.app[SHADOW_BOARD]
    source = request.app[POLICY_SOURCE]
    now = board.clock.now()
    try:
        since, app = _query(request.query, now)
    except ValueError as exc:  # SinceError, or an app name that cannot be one
        return error_response(ErrorCode.ARGUMENT_ERROR, f"{exc}.")
    return await gather_report(
        board.diffs,
        now=now,
        config=board.config,
        rules=board.rules,
        policy=source.current().describe(source.apps),
        since=since,
        app=app,
    )


def _query(query: Mapping[str, str], now: datetime) -> tuple[datetime | None, str | None]:
    """`since` (bridge/shadow/since.py) and `app` (a name as the apps file allows)."""
    raw = query.get("since")
    app = query.get("app") or None
    if app is not None and not APP_NAME.fullmatch(app):
        raise ValueError("app is not an app name")
    return (parse_since(raw, now) if raw else None), app


def _refusal(request: web.Request) -> web.Response | None:
    """None when the admin token is given, else the legacy error to answer."""
    token = request.app.get(ADMIN_TOKEN)
    if token is None or SHADOW_BOARD not in request.app:
        return error_response(ErrorCode.NOT_FOUND, "No such route.")
    expected = token.get_secret_value().encode()
    given = _given_token(request.headers.get("Authorization", ""))
    if given is None or not hmac.compare_digest(given, expected):
        return error_response(ErrorCode.ACCESS_DENIED, "The admin token is not valid.")
    return None


def _given_token(header: str) -> bytes | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode()
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        return None
    return decoded.partition(b":")[2]
