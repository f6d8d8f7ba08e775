"""Variations on the legacy target's keyed writes (issue 14), past test_passthrough_keys.py:
every fault kind of the proxy before and after legacy commits, a retry of the key under a
burst, and the same key sent with another route, customer, method or body. Whatever the
fault, legacy holds at most one order per key, a retry never reaches legacy after an
unknown outcome, and another request under a used key is refused without being forwarded.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from bridge.sandbox.faults import Fault, Kind
from tests.cutover.test_passthrough_keys import CREATE, Stack, post, stack

pytestmark = pytest.mark.both_engines
__all__ = ["stack"]  # the fixture, shared with test_passthrough_keys

UNKNOWN = [
    Fault(Kind.STATUS, path="/orders", status=500, after_commit=True),
    Fault(Kind.STATUS, path="/orders", status=503, after_commit=True),
    Fault(Kind.STATUS, path="/orders", status=504, after_commit=True),
    Fault(Kind.SLOW_BODY, path="/orders", delay=1.0, after_commit=True),
    Fault(Kind.HANG, path="/orders"),
    Fault(Kind.RESET, path="/orders"),
    Fault(Kind.STATUS, path="/orders", status=500),
    Fault(Kind.STATUS, path="/orders", status=502),
]
"""Answers that leave the outcome unknown (some before legacy ran, which the bridge cannot
tell from after): the key keeps not_available and legacy is never asked again."""


@pytest.mark.parametrize("fault", UNKNOWN, ids=lambda f: f"{f.kind}-{f.status}-{f.after_commit}")
async def test_a_burst_of_retries_after_an_unknown_outcome_never_forwards(
    fault: Fault, stack: Stack
) -> None:
    stack.faulty.inject(fault)
    first = await post(stack.bridge, "k-burst")
    stack.faulty.inject()
    again = await asyncio.gather(*(post(stack.bridge, "k-burst") for _ in range(6)))

    assert first[0] == 503, first
    assert {(status, body) for status, _, body in again} == {(503, first[2])}
    assert await stack.forwarded() == 1
    assert await stack.orders_on_legacy() <= 1


OTHER_REQUESTS = {
    "another customer": ("users/demo-user-ca/offers/1/orders", b'{"order":{"quantity":1}}'),
    "another offer": ("users/demo-user-1/offers/2/orders", b'{"order":{"quantity":1}}'),
    "by external id": ("external/users/ext-demo-1/offers/1/orders", b'{"order":{"quantity":1}}'),
    "a status update": ("orders/1", b'{"order":{"status":"approved"}}'),
    "another body": (CREATE, b'{"order":{"quantity":1,"ip":"192.0.2.1"}}'),
}


@pytest.mark.parametrize("case", OTHER_REQUESTS)
async def test_a_used_key_on_another_request_is_refused_unforwarded(
    stack: Stack, case: str
) -> None:
    """After a lost answer (the harder case: the key holds not_available, not an order)."""
    stack.faulty.inject(Fault(Kind.RESET, path="/orders", after_commit=True))
    await post(stack.bridge, "k-reused")
    stack.faulty.inject()
    path, body = OTHER_REQUESTS[case]
    status, _, answer = await post(stack.bridge, "k-reused", body=body, path=path)

    assert (status, orjson.loads(answer)["errors"]["code"]) == (200, "validation")
    assert stack.faulty.tally.calls == 1
    assert await stack.orders_on_legacy() == 1


async def test_keys_differ_by_case_and_a_long_key_is_held(stack: Stack) -> None:
    long_key = "k" * 255
    for key in ("k-Case", "k-case", long_key, long_key):
        await post(stack.bridge, key)

    assert (await stack.forwarded(), await stack.orders_on_legacy()) == (3, 3)


@pytest.mark.parametrize("key", ["k" * 256, "", " ", "k\u00e9", "k\tk"])
async def test_an_unusable_key_is_refused_before_anything_is_sent(stack: Stack, key: str) -> None:
    headers_key = key.encode("utf-8").decode("latin-1")  # aiohttp sends latin-1
    status, _, body = await post(stack.bridge, headers_key)

    assert orjson.loads(body)["errors"]["code"] == "argument_error", (status, body)
    assert stack.faulty.tally.calls == 0
