"""The operator's view of the cutover: `GET /_bridge/policy` (Bearer token from settings).

Shows the active policy resolved per app and operation, its version (content hash, when it
was loaded, from where) and the last reload refused since (when and why), if any.
`POST /_bridge/policy/reload` re-reads the policy file in the process that answers (what a
SIGHUP does, without having to find the process) and answers the same view. Without
`BRIDGE_ADMIN_TOKEN` both routes answer 404.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import SecretStr

from bridge.canonical import ErrorCode
from bridge.cutover.source import PolicySource
from bridge.legacy.responses import error_response, json_response

POLICY_SOURCE = web.AppKey("policy_source", PolicySource)
ADMIN_TOKEN = web.AppKey("admin_token", SecretStr)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/_bridge/policy", show_policy)
    app.router.add_post("/_bridge/policy/reload", reload_policy)


def _refused(request: web.Request) -> web.Response | None:
    """The answer to a call without the admin token (404 when none is set), else None."""
    token = request.app.get(ADMIN_TOKEN)
    if token is None:
        return error_response(ErrorCode.NOT_FOUND, "No such route.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        return error_response(ErrorCode.ACCESS_DENIED, "The admin token is not valid.")
    return None


async def reload_policy(request: web.Request) -> web.Response:
    if (refusal := _refused(request)) is not None:
        return refusal
    request.app[POLICY_SOURCE].reload()
    return _view(request.app[POLICY_SOURCE])


async def show_policy(request: web.Request) -> web.Response:
    if (refusal := _refused(request)) is not None:
        return refusal
    return _view(request.app[POLICY_SOURCE])


def _view(source: PolicySource) -> web.Response:
    policy = source.current()
    return json_response(
        {
            "status": "ok",
            "version": {
                "hash": policy.version.hash,
                "loaded_at": policy.version.loaded_at.isoformat(),
                "source": policy.version.source,
            },
            "policy": policy.describe(source.apps),
            "last_rejected_reload": (
                {"at": rejected.at.isoformat(), "reason": rejected.reason}
                if (rejected := source.last_rejection) is not None
                else None
            ),
        }
    )
