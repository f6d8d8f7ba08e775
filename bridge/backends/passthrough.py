"""The legacy target: forward a legacy call, unchanged, to the app's real legacy Orders API.

Path, query string, body and HTTP Basic credentials go out as they came in. Only the headers
of `FORWARDED_HEADERS` are forwarded (so hop-by-hop headers such as `Connection`,
`Keep-Alive`, `Transfer-Encoding`, `TE`, `Upgrade` and `Proxy-*` never are), and
`X-Forwarded-For` gains the caller's address. The answer comes back with its status, body and
content type unchanged. One pooled `ClientSession` (opened and closed by `create_app`) with
explicit timeouts; a legacy API that cannot be reached or does not answer in time is an
`UpstreamError` (legacy `not_available`, HTTP 503), which a policy may turn into a fallback.

Two failures are told apart, because a write must never be carried out twice:

    UpstreamError            the call never left: refused, DNS failure, no connection in time
     +-- ForwardLostError    the call was sent and its answer lost (reset, timeout, cut body):
                             legacy may have carried it out

`Idempotency-Key` is not forwarded: the legacy API has no keys (seed contract), and the bridge
itself holds a keyed write to one forward (`bridge/legacy/keyed_passthrough.py`).
"""

from __future__ import annotations

import time

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from bridge.errors import UpstreamError
from bridge.observability.context import call_facts
from bridge.observability.metrics import Children, Metrics

UPSTREAM = "legacy"

FORWARDED_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "authorization",
        "content-type",
        "user-agent",
        "x-request-id",
        "x-forwarded-proto",
        "x-forwarded-host",
    }
)
"""Request headers sent on to legacy (lowercase); every other header is dropped."""

RETURNED_HEADERS = ("Content-Type", "Location", "Retry-After", "WWW-Authenticate")
"""Response headers the caller gets back from legacy; hop-by-hop ones never are."""


NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)
"""Client failures that happen before a request is written: refused, DNS, connect or pool
timeout, a URL that cannot be called. Every other failure may come after legacy got the call."""


class ForwardLostError(UpstreamError):
    """The call reached the wire but its answer did not come back: legacy may have acted on it."""


def forwarded_headers(request: web.Request) -> CIMultiDict[str]:
    """The allow-listed headers of the call plus X-Forwarded-For."""
    headers: CIMultiDict[str] = CIMultiDict(
        (name, value)
        for name, value in request.headers.items()
        if name.lower() in FORWARDED_HEADERS
    )
    peer = request.remote or ""
    previous = request.headers.get("X-Forwarded-For")
    chain = f"{previous}, {peer}" if previous and peer else (previous or peer)
    if chain:
        headers["X-Forwarded-For"] = chain
    return headers


class LegacyPassthrough:
    def __init__(self, session: aiohttp.ClientSession, metrics: Metrics) -> None:
        self._session = session
        self._requests = Children(metrics.upstream_requests)
        self._durations = Children(metrics.upstream_duration)

    async def forward(self, request: web.Request, base_url: str, call: str) -> web.Response:
        """Send the call to `base_url` + the request's raw path and query; return the answer."""
        url = URL(base_url + request.raw_path, encoded=True)
        body = await request.read()
        started = time.perf_counter()
        try:
            async with self._session.request(
                request.method,
                url,
                data=body or None,
                headers=forwarded_headers(request),
                allow_redirects=False,
            ) as answer:
                payload = await answer.read()
                status = answer.status
                headers = {
                    name: answer.headers[name]
                    for name in RETURNED_HEADERS
                    if name in answer.headers
                }
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._record(
                call,
                "timeout" if isinstance(exc, TimeoutError) else "connection_error",
                None,
                started,
            )
            raise _failure(exc, request.method) from exc
        self._record(call, "ok" if status < 500 else "error", status, started)
        return web.Response(body=payload, status=status, headers=headers)

    def _record(self, call: str, outcome: str, status: int | None, started: float) -> None:
        elapsed = time.perf_counter() - started
        self._requests(UPSTREAM, call, outcome).inc()
        self._durations(UPSTREAM, call).observe(elapsed)
        call_facts().record_upstream(status, elapsed)


def _failure(exc: BaseException, method: str) -> UpstreamError:
    """The error for a failed forward: never sent, or sent with its answer lost."""
    if isinstance(exc, NOT_SENT):
        return UpstreamError("The legacy Orders API is not available.", UPSTREAM)
    if method in ("GET", "HEAD"):
        return ForwardLostError("The legacy Orders API did not answer in time.", UPSTREAM)
    return ForwardLostError(
        "The legacy Orders API did not answer, so the request may have been carried out: "
        "list the customer's orders before you send it again.",
        UPSTREAM,
    )


def passthrough_session(
    total_seconds: float, connect_seconds: float, pool_size: int
) -> aiohttp.ClientSession:
    """The one pooled session for every legacy forward (explicit timeouts, bounded pool).

    aiohttp sends a GET, PUT or DELETE a second time when its connection fails (RFC 9112
    section 9.3.1 allows it for idempotent methods), also after the server got the request.
    A legacy status update is a PUT that approves (fulfils) or rejects (refunds): it must
    reach legacy once, so the session never resends. aiohttp has no public switch for this
    (aio-libs/aiohttp#10790); `_retry_connection` is what its own TestClient sets.
    """
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=total_seconds, connect=connect_seconds),
        connector=aiohttp.TCPConnector(limit=pool_size, limit_per_host=pool_size),
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),
    )
    session._retry_connection = False
    return session
