"""The active cutover policy and its hot reload (SIGHUP, or the file changing on disk).

A reload reads and validates the whole file first; only a valid file replaces the active
policy, in one reference swap, so a call sees either the old or the new version, never a mix.
An invalid file is logged (`policy_reload_failed` with the reason) and counted, and the
running policy stays. Every replica watches its own copy of the file (a ConfigMap, say).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from bridge.clock import Clock
from bridge.cutover.policy import Policy, PolicyError, default_policy, load_policy
from bridge.observability.metrics import Metrics
from bridge.settings import AppConfig

FileStamp = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Rejection:
    at: datetime
    reason: str


class PolicySource:
    def __init__(
        self, path: Path | None, apps: Iterable[AppConfig], clock: Clock, metrics: Metrics
    ) -> None:
        """Load the policy once; an invalid file at start-up raises PolicyError."""
        self._path = path
        self._apps = tuple(apps)
        self._clock = clock
        self._metrics = metrics
        self._stamp = self._file_stamp()
        self._policy = (
            load_policy(path, self._apps, clock.now()) if path else default_policy(clock.now())
        )
        self.last_rejection: Rejection | None = None
        """The last reload refused since the active version was loaded (None: none)."""

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def apps(self) -> tuple[AppConfig, ...]:
        return self._apps

    def current(self) -> Policy:
        return self._policy

    def reload(self) -> bool:
        """Re-read the file; True when a new valid version became active."""
        if self._path is None:
            return False
        self._stamp = self._file_stamp()
        try:
            policy = load_policy(self._path, self._apps, self._clock.now())
        except PolicyError as exc:
            self.last_rejection = Rejection(self._clock.now(), str(exc))
            self._metrics.policy_reloads.labels("rejected").inc()
            structlog.get_logger().error(
                "policy_reload_failed",
                path=str(self._path),
                reason=str(exc),
                active_version=self._policy.version.hash,
            )
            return False
        previous = self._policy.version.hash
        self._policy = policy
        self.last_rejection = None
        self._metrics.policy_reloads.labels("applied").inc()
        structlog.get_logger().info(
            "policy_reloaded", path=str(self._path), version=policy.version.hash, previous=previous
        )
        return True

    def changed_on_disk(self) -> bool:
        return self._path is not None and self._file_stamp() != self._stamp

    async def watch(self, poll_seconds: float) -> None:
        """Reload whenever the file's inode, size or mtime changes (atomic renames included)."""
        while True:
            await asyncio.sleep(poll_seconds)
            if self.changed_on_disk():
                try:
                    self.reload()
                except Exception:  # the watcher must outlive any file; the old policy stays
                    structlog.get_logger().exception("policy_reload_crashed", path=str(self._path))

    def _file_stamp(self) -> FileStamp | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class PolicyReloader:
    """The background parts of a PolicySource: the file poller and the SIGHUP handler."""

    def __init__(self, source: PolicySource, poll_seconds: float) -> None:
        self._source = source
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._signal = False

    def start(self) -> None:
        if self._source.path is None:
            return
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._source.watch(self._poll_seconds))
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._source.reload)
            self._signal = True

    async def stop(self) -> None:
        if self._signal:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal = False
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
