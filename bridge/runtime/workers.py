"""Several serving processes on one port: `orders-bridge serve --workers N`.

A Python process serves on one core. With N workers, the parent forks N children before any
event loop, thread or connection exists; each child builds its own app (store engine,
upstream sessions, metrics registry) and listens on the same host and port with
SO_REUSEPORT, so the kernel spreads new connections across them. SIGTERM or SIGINT to the
parent is passed on to every child, which stops gracefully (bridge/runtime/serving.py); the parent
exits when all have, with the worst exit code.

Metrics are exact across workers: the parent switches prometheus-client to its multiprocess
mode before forking (a fresh directory in PROMETHEUS_MULTIPROC_DIR, removed at exit), each
worker's metrics write to their own files there, and a scrape of /metrics on any worker sums
every worker's counters and histograms; gauges are reported per worker (a `pid` label). A
stopped worker's live gauges are dropped. (docs/performance.md, "Worker processes").
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from types import FrameType

from aiohttp import web
from prometheus_client import multiprocess, values

from bridge.runtime.health import MULTIPROCESS_DIR
from bridge.runtime.serving import serve
from bridge.settings import Settings


def serve_workers(build: Callable[[], web.Application], settings: Settings, workers: int) -> int:
    """Fork `workers` serving processes and wait for them; the worst exit code."""
    directory = tempfile.mkdtemp(prefix="orders-bridge-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    try:
        return _fork_and_wait(build, settings, workers)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _fork_and_wait(build: Callable[[], web.Application], settings: Settings, workers: int) -> int:
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=_work, args=(build, settings), name=f"orders-bridge-worker-{n}")
        for n in range(workers)
    ]
    for child in children:
        child.start()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
        if child.pid is not None:
            multiprocess.mark_process_dead(child.pid)  # type: ignore[no-untyped-call]
    return max((child.exitcode or 0) for child in children)


def _work(build: Callable[[], web.Application], settings: Settings) -> None:
    serve(build(), settings, reuse_port=True)
