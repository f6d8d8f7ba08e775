"""The one record of a call: what the edge, the router and lower layers learn while
answering it, and what its metrics and its canonical log line read.

The observability middleware starts one `CallFacts` per request and binds it in a context
variable; `call_facts()` returns it to every layer, with or without the request (router,
backends, upstream clients, idempotency). Each fact is set once, where it is learnt: app,
operation, order id and customer by the cutover when the call is authenticated and parsed,
target and route reason when it is routed (again if it falls back), the legacy code when its
answer is rendered. Outside a request `call_facts()` returns a throwaway record, so recording
is always safe. A background task started from a request (a shadow call) inherits the record
through the copied context: call `detach_call()` first in such a task so its upstream calls
do not land on the primary's line.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class CallFacts:
    """What happened while answering one call."""

    operation: str | None = None
    """One of the legacy operations (None: not a legacy order call, no metrics or log line)."""
    app: str | None = None
    """The authenticated app's name."""
    target: str | None = None
    """The target that served the call (legacy, local, incentives)."""
    order_id: int | None = None
    """The integer order id a get or status update names (parsed once, by the cutover)."""
    customer: str | None = None
    """The customer the path names, as the canary buckets it (`u:` or `x:` + id)."""
    legacy_code: str | None = None
    """The legacy error code of the answer (None: an ok answer)."""
    route_reason: str | None = None
    """policy | canary | locator | fallback (the cutover router sets it)."""
    canary: bool | None = None
    shadow_target: str | None = None
    fallback_from: str | None = None
    upstream_calls: int = 0
    upstream_status: int | None = None
    """HTTP status of the last upstream answer (None: no upstream, or it never answered)."""
    upstream_seconds: float = 0.0
    idempotent_replay: bool = False

    def record_upstream(self, status: int | None, seconds: float) -> None:
        """Add one upstream attempt to the call's totals."""
        self.upstream_calls += 1
        self.upstream_status = status
        self.upstream_seconds += seconds

    def add_log_fields(self, fields: dict[str, object]) -> None:
        """Add the facts worth a key on the log line to `fields` (unset ones are left out)."""
        if self.route_reason is not None:
            fields["route_reason"] = self.route_reason
        if self.canary is not None:
            fields["canary"] = self.canary
        if self.shadow_target is not None:
            fields["shadow_target"] = self.shadow_target
        if self.fallback_from is not None:
            fields["fallback_from"] = self.fallback_from
        if self.upstream_calls:
            fields["upstream_calls"] = self.upstream_calls
            if self.upstream_status is not None:
                fields["upstream_status"] = self.upstream_status
            fields["upstream_ms"] = round(self.upstream_seconds * 1000, 3)
        if self.idempotent_replay:
            fields["idempotent_replay"] = True


_CALL_FACTS: ContextVar[CallFacts | None] = ContextVar("call_facts", default=None)


def begin_call() -> CallFacts:
    """Start a fresh record for the call being answered in this context (middleware only)."""
    facts = CallFacts()
    _CALL_FACTS.set(facts)
    return facts


def detach_call() -> None:
    """Stop recording into the current call's facts (first line of a background task)."""
    _CALL_FACTS.set(None)


def call_facts() -> CallFacts:
    """The record of the call being answered, or a throwaway one outside a request."""
    facts = _CALL_FACTS.get()
    return facts if facts is not None else CallFacts()
