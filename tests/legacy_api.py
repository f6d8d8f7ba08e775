"""The legacy surface as an integrator calls it; every answer is checked against the contract.

Tests speak in legacy terms (`create`, `list`, `get`, `update`) and read `Answer.order`,
`Answer.orders` or `Answer.code`; whatever comes back has already been validated against the
OpenAPI document (tests/contract.py) and checked to carry no stack trace.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from werkzeug.datastructures import Headers

from tests.contract import Contract, ReceivedResponse

USER = "users/demo-user-1"
EXTERNAL_USER = "external/users/ext-demo-1"
CA_USER = "users/demo-user-ca"
UNREGISTERED_USER = "users/demo-user-unregistered"

NO_BODY = object()
"""Marks a call sent without a body, as opposed to one whose JSON body is `null`."""

TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "aiohttp")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def order(self) -> dict[str, Any]:
        assert self.body["status"] == "ok", self.body
        order: dict[str, Any] = self.body["order"]
        return order

    @property
    def orders(self) -> list[dict[str, Any]]:
        assert self.body["status"] == "ok", self.body
        orders: list[dict[str, Any]] = self.body["orders"]
        return orders

    @property
    def ids(self) -> list[int]:
        return [order["id"] for order in self.orders]

    @property
    def code(self) -> str:
        assert self.body["status"] == "error", self.body
        code: str = self.body["errors"]["code"]
        return code

    @property
    def message(self) -> str:
        assert self.body["status"] == "error", self.body
        message: str = self.body["errors"]["message"]
        return message


@dataclass(frozen=True)
class LegacyApi:
    client: TestClient[Any, Any]
    contract: Contract
    api_key: str
    headers: tuple[tuple[str, str], ...]

    def as_caller(self, api_key: str | None = None, **headers: str) -> LegacyApi:
        """The same bridge, called with these headers (and another api_key in the path)."""
        key = self.api_key if api_key is None else api_key
        return dataclasses.replace(self, api_key=key, headers=tuple(headers.items()))

    async def call(
        self, method: str, path: str, body: Any = NO_BODY, **params: str | int
    ) -> Answer:
        """Send one request (JSON body unless `body` is bytes) and check the answer."""
        data = body if isinstance(body, bytes) or body is NO_BODY else orjson.dumps(body)
        response = await self.client.request(
            method,
            path,
            data=None if data is NO_BODY else data,
            params={name: str(value) for name, value in params.items()},
            headers=dict(self.headers),
        )
        raw = await response.read()
        text = raw.decode()
        assert not any(marker in text for marker in TRACE_MARKERS), text
        self.contract.check(
            method,
            path,
            ReceivedResponse(
                response.status, raw, response.content_type, Headers(list(response.headers.items()))
            ),
        )
        return Answer(response.status, orjson.loads(raw))

    def _path(self, rest: str) -> str:
        return f"/priv/v1/apps/{self.api_key}/{rest}"

    async def create(
        self, offer: int | str = 1, customer: str = USER, body: Any = None, **order: Any
    ) -> Answer:
        """Place an order; `order` fields go in the `order` root unless a whole `body` is given."""
        path = self._path(f"{customer}/offers/{offer}/orders")
        return await self.call("POST", path, {"order": order} if body is None else body)

    async def list(self, customer: str = USER, **query: str | int) -> Answer:
        return await self.call("GET", self._path(f"{customer}/orders"), **query)

    async def get(self, order_id: int | str, customer: str = USER) -> Answer:
        return await self.call("GET", self._path(f"{customer}/orders/{order_id}"))

    async def update(
        self, order: int | str, status: str = "approved", method: str = "POST", body: Any = None
    ) -> Answer:
        """Change an order's status; `order` is an id or a path such as `external/orders/x`."""
        target = f"orders/{order}" if isinstance(order, int) else order
        payload = {"order": {"status": status}} if body is None else body
        return await self.call(method, self._path(target), payload)
