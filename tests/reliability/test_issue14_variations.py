"""Issue 14, variations beyond the matrix (tests/reliability/test_told_is_what_happened.py).

Found by an independent walk of the issue: timings and answers the matrix does not reach.
Each case ends as the matrix does: the upstream healthy, the clock past every window, the
outbox run, then the upstream must hold what the client was told.
"""

from __future__ import annotations

import asyncio

import pytest

from bridge.sandbox.faults import Fault, Kind
from tests.incentives.test_lost_purchase import run_due_jobs, wallet_and_points
from tests.reliability import test_told_is_what_happened as matrix
from tests.reliability.test_told_is_what_happened import (  # noqa: F401 - fixtures
    KEY_TTL_SECONDS,
    PURCHASE,
    REVOKE,
    WALLET,
    World,
    create,
    listed,
    settle_everything,
    update,
    upstream,
    warm,
    world,
)

pytestmark = pytest.mark.both_engines


def purchases_sent(here: World) -> int:
    return sum(
        n for path, n in here.upstream.proxy.tally.by_path.items() if path.endswith(PURCHASE)
    )


async def until_purchases_sent(here: World, count: int) -> None:
    """Return once the proxy has received `count` purchases (it counts them as they arrive)."""
    while purchases_sent(here) < count:  # noqa: ASYNC110 - the proxy's tally has no event
        await asyncio.sleep(0.01)


async def test_a_keyed_retry_that_resends_as_its_key_expires_is_not_undone_behind_its_back(
    world: World,  # noqa: F811 - the fixture
) -> None:
    """The undo of a keyed unknown purchase is due at the key's expiry. A retry of the key just
    before it sends the purchase again (the upstream had not committed the first one); the
    undo must not run while that purchase is in flight, or it finds nothing, the purchase
    lands after it, the retry's confirm loses to the void, and a purchase the client was told
    failed stands with nobody to undo it."""
    await warm(world)
    before = await wallet_and_points(world.sandbox)
    world.upstream.proxy.inject(
        Fault(Kind.STATUS, path=PURCHASE, status=503, times=1),
        Fault(Kind.STATUS, path=WALLET, status=503, times=3),
    )
    status, _ = await create(world.bridge, "key-1")
    assert status == 503
    sent = purchases_sent(world)

    world.upstream.proxy.inject(Fault(Kind.LATENCY, path=PURCHASE, delay=1.0))
    world.clock.advance(seconds=KEY_TTL_SECONDS - 1)
    retry = asyncio.create_task(create(world.bridge, "key-1"))
    await until_purchases_sent(world, sent + 1)  # the purchase is on its way, not yet landed
    await run_due_jobs(world.bridge, world.clock, seconds=2)  # past the key's expiry
    status, body = await retry

    await settle_everything(world, "key_expired")
    if status == 200:
        assert await wallet_and_points(world.sandbox) == (before[0] + 1, before[1] - 100)
        assert await listed(world.bridge) == [(body["order"]["id"], "approved")]
    else:
        assert await wallet_and_points(world.sandbox) == before
        assert await listed(world.bridge) == []


MORE_CASES = [
    # a 200 that is not the upstream's ok envelope, after the upstream committed
    matrix.Case(
        "200_error_envelope_after_commit",
        Fault(Kind.STATUS, status=200, after_commit=True),
        commits=True,
    ),
    # the answer trickles in after the upstream committed, past the call's timeout
    matrix.Case(
        "slow_body_after_commit", Fault(Kind.SLOW_BODY, after_commit=True, delay=0.5), True
    ),
    # the answer trickles in, but within the timeout: a slow ok is still an ok
    matrix.Case("slow_body_in_time", Fault(Kind.SLOW_BODY, after_commit=True, delay=0.01), True),
]


@pytest.mark.parametrize("key_use", matrix.KEYS)
@pytest.mark.parametrize("case", MORE_CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("operation", ["create", "reject", "approve"])
async def test_more_faults(
    world: World,  # noqa: F811 - the fixture
    case: matrix.Case,
    key_use: str,
    operation: str,
) -> None:
    """The matrix's own checks on faults it does not try."""
    checks = {
        "create": matrix.test_create,
        "reject": matrix.test_reject,
        "approve": matrix.test_approve,
    }
    await checks[operation](world, case, key_use)


async def test_an_external_id_held_by_an_unknown_purchase_is_not_said_to_exist(
    world: World,  # noqa: F811 - the fixture
) -> None:
    """A keyed create whose outcome is unknown keeps its row (and its external id) until the
    key expires. Another create naming the same external id meanwhile must not be told "an
    order with external_id ... already exists" (a final answer, while get and update say no
    such order, and the row may yet be undone): the outcome is not known, so not_available.
    Once the undo has run, the external id is free again."""
    await warm(world)
    before = await wallet_and_points(world.sandbox)
    world.upstream.proxy.inject(
        Fault(Kind.RESET, path=PURCHASE, after_commit=True, times=1),
        Fault(Kind.STATUS, path=WALLET, status=503, times=3),
    )
    status, _ = await create(world.bridge, "key-1", external_id="eo-1")
    assert status == 503

    status, body = await create(world.bridge, None, external_id="eo-1")
    assert (status, body["errors"]["code"]) == (503, "not_available"), body

    await settle_everything(world, "key_expired")
    assert await wallet_and_points(world.sandbox) == before
    status, body = await create(world.bridge, None, external_id="eo-1")
    assert status == 200, body
    assert await listed(world.bridge) == [(body["order"]["id"], "approved")]


async def test_a_refused_retry_of_a_reject_does_not_cancel_the_first_attempts_finish(
    world: World,  # noqa: F811 - the fixture
) -> None:
    """A reject whose revoke landed but whose answer was lost queues its `finish_reject`. A
    retry of the reject (no key) that is refused before it is sent knows only that *its own*
    revoke did nothing: it must not cancel the first attempt's job, or the revoked order
    stays as it was with its points never refunded."""
    await warm(world)
    status, body = await create(world.bridge, "setup", status="pending_approval")
    assert status == 200, body
    order_id = body["order"]["id"]
    before = await wallet_and_points(world.sandbox)
    world.upstream.proxy.inject(Fault(Kind.RESET, path=REVOKE, after_commit=True, times=1))
    status, _ = await update(world.bridge, order_id, "rejected", None)
    assert status == 503
    await world.upstream.fail(matrix.CASES[0], "reject")  # refused: the proxy is stopped
    status, _ = await update(world.bridge, order_id, "rejected", None)
    assert status == 503

    await settle_everything(world, "no_key")
    assert await wallet_and_points(world.sandbox) == (before[0] - 1, before[1] + 100)
    assert dict(await listed(world.bridge))[order_id] == "rejected"


@pytest.mark.parametrize("commits", [False, True], ids=["first_not_landed", "first_landed"])
async def test_two_concurrent_retries_of_an_unknown_key_place_one_order(
    world: World,  # noqa: F811 - the fixture
    commits: bool,
) -> None:
    """A key left unknown, then retried twice at once: both settle it (look, maybe send the
    purchase again with the same idempotency id); one confirms, the other's confirm finds
    the row already an order. That order stands: one purchase, one debit, and every ok
    names it."""
    await warm(world)
    before = await wallet_and_points(world.sandbox)
    world.upstream.proxy.inject(
        Fault(Kind.STATUS, path=PURCHASE, status=500, after_commit=commits, times=1),
        Fault(Kind.STATUS, path=WALLET, status=503, times=3),
    )
    status, _ = await create(world.bridge, "key-1")
    assert status == 503
    world.upstream.proxy.inject(Fault(Kind.LATENCY, path=PURCHASE, delay=0.3))

    answers = await asyncio.gather(*(create(world.bridge, "key-1") for _ in range(2)))
    await settle_everything(world, "key_expired")

    assert await wallet_and_points(world.sandbox) == (before[0] + 1, before[1] - 100)
    ids = {body["order"]["id"] for status, body in answers if status == 200}
    assert len(ids) == 1, answers
    assert await listed(world.bridge) == [(ids.pop(), "approved")]
