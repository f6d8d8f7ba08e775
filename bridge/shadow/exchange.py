"""One shadowed call as the runner sees it: the legacy request and the primary's answer.

Captured by the shadow middleware after the primary answer is ready. It lives only in memory
(the queue); what is stored is the masked diff, never the exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from bridge.canonical import Target
from bridge.cutover.policy import Operation
from bridge.settings import AppConfig


@dataclass(frozen=True, slots=True)
class Answer:
    """A legacy answer: HTTP status and body bytes."""

    status: int
    body: bytes

    def document(self) -> Any:
        """The body as JSON, or as text when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Exchange:
    app: AppConfig
    operation: Operation
    method: str
    raw_path: str
    """Path and query string exactly as the integrator sent them."""
    match_info: Mapping[str, str]
    query: Mapping[str, str]
    headers: tuple[tuple[str, str], ...]
    """The allow-listed headers a legacy forward sends (Authorization included)."""
    body: bytes
    primary_target: Target
    primary: Answer
