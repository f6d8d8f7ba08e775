"""Run a captured legacy call on a shadow target and render the answer in legacy format.

- `legacy`: the call is forwarded to the app's legacy base URL (own session and timeout).
- `local` / `incentives`: the call is parsed, served by an order service and rendered by the
  routes' own operation (bridge/legacy/operations.py), errors in the same envelope. With a
  shadow store (`BRIDGE_SHADOW__DATABASE_URL`) every such call is served by the *shadow
  service* built on it, so the shadow side is one consistent world (a shadowed create is
  listed by a shadowed list) and a shadowed write never touches the primary's store, ledger
  or balances. Without a shadow store, reads use the bridge's own order service and writes
  are never shadowed (ShadowSkipped).

The runner's timeout bounds every call; an exception here becomes an `error` comparison.
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from bridge.canonical import Target
from bridge.cutover.policy import WRITES
from bridge.legacy import operations
from bridge.orders.service import OrderService
from bridge.settings import AppConfig
from bridge.shadow.exchange import Answer, Exchange


class ShadowSkipped(Exception):
    """The call cannot be shadowed safely on that target (counted as dropped)."""


class ShadowExecutor:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        bridge_service: OrderService,
        shadow_service: OrderService | None,
    ) -> None:
        self._session = session
        self._bridge_service = bridge_service
        self._shadow_service = shadow_service

    async def run(self, exchange: Exchange, target: Target) -> Answer:
        if target is Target.LEGACY:
            return await self.forward(exchange)
        service = self._shadow_service or self._bridge_service
        if exchange.operation in WRITES and self._shadow_service is None:
            raise ShadowSkipped("writes are shadowed only on a separate shadow store")
        return await serve_here(
            service, exchange.app.model_copy(update={"target": target}), exchange
        )

    async def forward(self, exchange: Exchange) -> Answer:
        base = exchange.app.legacy_base_url
        if base is None:
            raise ShadowSkipped("the app has no legacy_base_url")
        async with self._session.request(
            exchange.method,
            URL(base + exchange.raw_path, encoded=True),
            data=exchange.body or None,
            headers=list(exchange.headers),
            allow_redirects=False,
        ) as answer:
            return Answer(answer.status, await answer.read())


async def serve_here(service: OrderService, app: AppConfig, exchange: Exchange) -> Answer:
    """Serve the captured call with the routes' own operation (errors as the legacy envelope)."""
    call = operations.Call(exchange.match_info, exchange.query, exchange.body)
    rendered = await operations.serve(service, app, exchange.operation, call)
    return Answer(rendered.status, rendered.body)
