"""The shadow runner: repeat sampled calls on the shadow target, off the request path.

Scientist's rule: the primary's answer is the only one the integrator ever gets; the
candidate's answer, its errors and its slowness are recorded, never raised. Concretely:
- `offer` is synchronous and O(1): it samples (the policy's `sample_rate` per app and
  operation), sheds the call while the process is busy (bridge/shadow/load.py) and puts the
  job on a bounded queue; a full queue drops it. It never waits. Every drop is counted
  twice: `bridge_shadow_comparisons_total{result="dropped"}` and
  `bridge_shadow_dropped_total{reason}` (`shed`, `queue_full`, `stopping`, `skipped`).
- the shadow yields to the primary: a worker also sheds a job it is about to start while
  the process is busy, so under load coverage drops (counted) instead of the primary
  slowing. A status update is never shed: the shadow's copy would keep its old status and
  later reads would mismatch.
- a fixed number of worker tasks take jobs, each from its own lane (a bounded queue); one
  customer's jobs always take the same lane, so they run in the order the calls were
  answered; each shadow call has its own timeout; a failure or timeout is an `error`
  comparison.
- calibration (noise): a sampled share of shadowed *reads* is also sent a second time to the
  primary's own target, and the differences between two runs of the same system are stored
  as `calibration` comparisons. Writes are never repeated on the primary.
- `stop` lets queued jobs finish for `drain_seconds`, then drops the rest and counts them.
- a reaper deletes stored comparisons older than the retention period.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

import structlog

from bridge.canonical import Target
from bridge.clock import Clock
from bridge.cutover.policy import WRITES, Operation, Shadow
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig
from bridge.shadow.comparison import (
    ERROR,
    NOT_COMPARABLE,
    NOTHING,
    Documents,
    Outcome,
    compare_documents,
    failed,
)
from bridge.shadow.config import ShadowSettings
from bridge.shadow.correlation import Aligned, Correlator, NotComparable
from bridge.shadow.differ import Difference
from bridge.shadow.exchange import Answer, Exchange
from bridge.shadow.executor import ShadowExecutor, ShadowSkipped
from bridge.shadow.load import LoadSignal, load_signal
from bridge.shadow.masking import masked_json
from bridge.shadow.rules import NO_RULES, OperationRules
from bridge.store.shadow_diffs import Comparison, FieldDifference, IdPair, ShadowDiffs

log = structlog.get_logger()

SHADOW = "shadow"
CALIBRATION = "calibration"
SHED, QUEUE_FULL, STOPPING, SKIPPED = "shed", "queue_full", "stopping", "skipped"
"""Why a shadow was dropped (the `reason` of `bridge_shadow_dropped_total`)."""
SHEDDABLE = frozenset(Operation) - {Operation.UPDATE_ORDER_STATUS}


@dataclass(frozen=True, slots=True)
class Job:
    exchange: Exchange
    target: Target
    mode: str


class ShadowRunner:
    def __init__(
        self,
        executor: ShadowExecutor,
        diffs: ShadowDiffs,
        rules: Mapping[str, OperationRules],
        metrics: Metrics,
        clock: Clock,
        config: ShadowSettings,
        apps: Iterable[AppConfig] = (),
        sample: Callable[[], float] = random.random,
        load: LoadSignal | None = None,
    ) -> None:
        self._executor = executor
        self._apps = {app.api_key: app for app in apps}
        self._diffs = diffs
        self._correlator = Correlator(diffs)
        self._rules = rules
        self._metrics = metrics
        self._clock = clock
        self._config = config
        self._sample = sample
        self._load = load or load_signal(config.shed_cpu_share, config.load_window_seconds)
        lane_size = max(1, config.queue_size // config.workers)
        self._lanes: list[asyncio.Queue[Job | None]] = [
            asyncio.Queue(maxsize=lane_size) for _ in range(config.workers)
        ]
        """One queue per worker; a customer's jobs always take the same lane, in order.
        None tells a worker to stop."""
        self._workers: list[asyncio.Task[None]] = []
        self._reaper: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        """Retirements of dropped status updates' orders, awaited by `stop`."""
        self._stopping = asyncio.Event()
        self._closed = False

    def app_config(self, api_key: str) -> AppConfig:
        """The app as configured (its routed copy carries the chosen target instead)."""
        return self._apps[api_key]

    def offer(self, exchange: Exchange, shadow: Shadow) -> bool:
        """Queue the shadow of one answered call if sampled and not shed; never blocks."""
        if shadow.target is exchange.primary_target:
            return False  # the locator or a fallback served the call on the shadow target
        if self._sample() >= shadow.sample_rate:
            return False
        job = Job(exchange, shadow.target, SHADOW)
        if self._shed(job):
            return False
        accepted = self._put(job)
        rate = self._config.calibration_rate
        if accepted and exchange.operation not in WRITES and rate and self._sample() < rate:
            self._put(Job(exchange, exchange.primary_target, CALIBRATION))
        return accepted

    def start(self) -> None:
        for lane in self._lanes:
            self._workers.append(asyncio.create_task(self._work(lane)))
        self._reaper = asyncio.create_task(self._reap_periodically())

    async def stop(self) -> None:
        """Finish queued shadows for `drain_seconds`, then drop (and count) what is left.

        Calls already running finish (each is bounded by its own timeout): nothing is
        cancelled in the middle of a database call.
        """
        self._closed = True
        try:
            async with asyncio.timeout(self._config.drain_seconds):
                await asyncio.gather(*(lane.join() for lane in self._lanes))
        except TimeoutError:
            pass
        dropped = 0
        for lane in self._lanes:
            while not lane.empty():
                job = lane.get_nowait()
                lane.task_done()
                if job is not None:
                    self._job_dropped(job, STOPPING)
                    dropped += 1
            await lane.put(None)
        await asyncio.gather(*self._retiring, return_exceptions=True)
        self._stopping.set()
        reaper = [self._reaper] if self._reaper is not None else []
        await asyncio.gather(*self._workers, *reaper, return_exceptions=True)
        log.info("shadow_runner_stopped", dropped=dropped)

    def _put(self, job: Job) -> bool:
        if self._closed:
            self._job_dropped(job, STOPPING)
            return False
        lane = self._lanes[zlib.crc32(ordering_key(job.exchange).encode()) % len(self._lanes)]
        try:
            lane.put_nowait(job)
        except asyncio.QueueFull:
            self._job_dropped(job, QUEUE_FULL)
            return False
        return True

    def _job_dropped(self, job: Job, reason: str) -> None:
        if job.mode == SHADOW:
            exchange = job.exchange
            labels = (exchange.app.name, exchange.operation.value, job.target.value)
            self._metrics.shadow_comparison_counts(*labels, "dropped").inc()
            self._metrics.shadow_drop_counts(*labels, reason).inc()
            if exchange.operation is Operation.UPDATE_ORDER_STATUS:
                self._retire_unshadowed(job)

    def _retire_unshadowed(self, job: Job) -> None:
        """A status update the shadow side never got (its job dropped: lane full, stopping,
        cannot be shadowed): its order is retired, as after a failed one, so the shadow's
        copy in its old status makes later reads not comparable instead of mismatches."""
        if self._stopping.is_set():
            log.warning("shadow_update_dropped_after_stop", app=job.exchange.app.name)
            return
        task = asyncio.create_task(self._retire(job))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, job: Job) -> None:
        try:
            await self._failed_write(job)
        except Exception:  # a shadow must never fail the primary's request or the runner
            log.exception("shadow_retire_failed", operation=job.exchange.operation.value)

    def _shed(self, job: Job) -> bool:
        """Shed a job about to start while the process is busy (the primary goes first)."""
        if job.exchange.operation not in SHEDDABLE or not self._load.busy():
            return False
        self._job_dropped(job, SHED)
        return True

    async def _work(self, lane: asyncio.Queue[Job | None]) -> None:
        while True:
            job = await lane.get()
            if job is None:
                lane.task_done()
                return
            try:
                if not self._shed(job):
                    await self._run(job)
            except ShadowSkipped as exc:
                self._job_dropped(job, SKIPPED)
                log.info("shadow_skipped", operation=job.exchange.operation.value, reason=str(exc))
            except Exception:  # a shadow must never take a worker down
                log.exception("shadow_job_failed", operation=job.exchange.operation.value)
            finally:
                lane.task_done()

    async def _run(self, job: Job) -> None:
        exchange = job.exchange
        if job.mode == SHADOW and failed(exchange.primary.status):
            await self._store(job, _nothing(NOT_COMPARABLE), reason="primary_failed")
            return
        try:
            sent = await self._sent(job)
        except NotComparable:
            await self._store(job, _nothing(NOT_COMPARABLE), reason="order_unseen")
            return
        answer = await self._call(job, sent)
        if answer is None:
            await self._failed_write(job)
            await self._store(job, _nothing(ERROR))
            return
        documents = Documents.of(exchange.primary, answer)
        aligned = await self._align(job, documents)
        rules = self._rules.get(exchange.operation.value, NO_RULES)
        outcome = compare_documents(
            replace(documents, primary=aligned.primary, candidate=aligned.candidate),
            rules,
            self._clock.now().date(),
        )
        if outcome.result == ERROR:
            self._call_failed(job, f"http_{answer.status}")
            await self._failed_write(job)
        if not aligned.comparable:
            outcome = _nothing(NOT_COMPARABLE)
        await self._store(job, outcome, aligned.pair, "order_unseen" if aligned.left_out else None)

    async def _failed_write(self, job: Job) -> None:
        """A status update the shadow side may not have applied: its order is retired."""
        if job.mode == SHADOW and job.exchange.operation is Operation.UPDATE_ORDER_STATUS:
            await self._correlator.retire(job.exchange, job.target)

    async def _sent(self, job: Job) -> Exchange:
        """The call to make: a shadow names orders by the shadow side's ids."""
        if job.mode != SHADOW:
            return job.exchange
        return await self._correlator.prepare(job.exchange, job.target)

    async def _call(self, job: Job, sent: Exchange) -> Answer | None:
        """The candidate's answer; None when the call failed (logged, counted as error)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._config.timeout_seconds):
                return await self._executor.run(sent, job.target)
        except ShadowSkipped:
            raise
        except Exception as exc:  # the candidate's failure is recorded, never raised
            self._call_failed(job, type(exc).__name__)
            return None
        finally:
            self._metrics.shadow_durations(job.exchange.operation.value, job.target.value).observe(
                time.perf_counter() - started
            )

    async def _align(self, job: Job, documents: Documents) -> Aligned:
        if job.mode != SHADOW or failed(documents.candidate_status):
            return Aligned(documents.primary, documents.candidate)
        return await self._correlator.align(
            job.exchange, job.target, documents.primary, documents.candidate
        )

    def _call_failed(self, job: Job, error: str) -> None:
        exchange = job.exchange
        log.info(
            "shadow_call_failed",
            app=exchange.app.name,
            operation=exchange.operation.value,
            target=job.target.value,
            error=error,
        )

    async def _store(
        self,
        job: Job,
        outcome: Outcome,
        pair: IdPair | None = None,
        reason: str | None = None,
    ) -> None:
        exchange = job.exchange
        app, operation, result = exchange.app.name, exchange.operation.value, outcome.result
        shown = per_field(outcome.judged.shown)
        if job.mode == SHADOW:
            self._metrics.shadow_comparison_counts(app, operation, job.target.value, result).inc()
            for difference in shown:
                field = self._metrics.shadow_field(difference.path)
                self._metrics.shadow_mismatch_counts(app, operation, field, difference.kind).inc()
            log.info(
                "shadow_compared",
                app=app,
                operation=operation,
                target=exchange.primary_target.value,
                shadow_target=job.target.value,
                result=result,
                reason=reason,
                differing_fields=sorted({d.path for d in shown})[:10] or None,
            )
        await self._diffs.record(
            Comparison(
                app=app,
                operation=operation,
                target=job.target.value,
                mode=job.mode,
                result=result,
                at=self._clock.now(),
                unmapped_code=outcome.unmapped_code,
                differences=[
                    FieldDifference(
                        item.path,
                        item.kind.value,
                        masked_json(item.path, item.primary),
                        masked_json(item.path, item.candidate),
                    )
                    for item in shown
                ],
                pair=pair,
            )
        )

    async def _reap_periodically(self) -> None:
        """Delete comparisons past the retention period, every `reap_seconds`, until stop."""
        while True:
            try:
                async with asyncio.timeout(self._config.reap_seconds):
                    await self._stopping.wait()
                return
            except TimeoutError:
                pass
            try:
                horizon = self._clock.now() - timedelta(days=self._config.retention_days)
                removed = await self._diffs.reap(horizon)
                if removed:
                    log.info("shadow_diffs_reaped", removed=removed)
            except Exception:
                log.exception("shadow_reap_failed")


def per_field(differences: tuple[Difference, ...]) -> tuple[Difference, ...]:
    """The first difference of each (path, kind): what is counted and stored per comparison.

    A path is a template (`orders[].name`), so a list differs there once per order; a field's
    count is the number of comparisons it differed in, and its rate a share of comparisons.
    """
    first: dict[tuple[str, str], Difference] = {}
    for item in differences:
        first.setdefault((item.path, item.kind.value), item)
    return tuple(first.values())


def _nothing(result: str) -> Outcome:
    return Outcome(result, NOTHING, None)


def ordering_key(exchange: Exchange) -> str:
    """The lane key: the customer the primary's answer names, else the one the path names,
    else the order.

    One customer's shadows run one after another in the order their calls were answered, so
    a shadowed list sees the shadowed create before it, and an update or a get follows the
    shadow of the create it names (so its pair exists when it runs). Every order in an answer
    carries its customer's `user_id` whichever route the call took (`users/{user_id}`,
    `external/users/{external_id}`, `orders/{order_id}`), so the answer names the customer
    first: a path's `external_id` is another spelling of the same customer. A path's
    `user_id` is the one its answer names, so that answer is not parsed on the request path.
    """
    info = exchange.match_info
    if "user_id" in info:  # the answer names this customer too: no need to parse it
        return f"{exchange.app.name}\x00user_id\x00{info['user_id']}"
    customer = _answered_customer(exchange)
    if customer is not None:
        return f"{exchange.app.name}\x00user_id\x00{customer}"
    for name in ("user_id", "external_id", "order_id", "external_order_id"):
        if name in info:
            return f"{exchange.app.name}\x00{name}\x00{info[name]}"
    return exchange.app.name


def _answered_customer(exchange: Exchange) -> str | None:
    """The `user_id` of the answer's order, or of a list's first order."""
    document = exchange.primary.document()
    if not isinstance(document, dict):
        return None
    orders = document.get("orders")
    order = orders[0] if isinstance(orders, list) and orders else document.get("order")
    customer = order.get("user_id") if isinstance(order, dict) else None
    return customer if isinstance(customer, str) else None
