"""The router: for one call, which target serves it and why. Pure, synchronous and fast.

Reasons, in the order they are considered:
- `policy`: the operation's target in the cutover policy (or the app's `target`).
- `canary`: the customer's stable bucket falls inside the canary's percentage (for a canary
  with `analysis`, the plan's current step as the shared state holds it: bridge/canary/).
- `locator`: `get_order` / `update_order_status` go where the ledger says the order lives,
  and an order the ledger does not know is looked up on legacy while the app has a
  `legacy_base_url` (orders placed on legacy before the cutover). Counted as `locator` only
  when it changes the policy/canary answer.
- `fallback`: set by the caller when the chosen target's upstream was unavailable and the
  policy allows `fallback: local`.

The canary bucket is blake2b(app NUL customer) mod 10,000; a customer is in the canary when
bucket < percent x 100. Raising the percentage therefore only adds customers to the canary.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from bridge.canonical import Target
from bridge.cutover.policy import WRITES, Canary, Operation, Policy, Shadow
from bridge.settings import AppConfig

BUCKETS = 10_000


class Reason(enum.StrEnum):
    POLICY = "policy"
    CANARY = "canary"
    LOCATOR = "locator"
    FALLBACK = "fallback"


class Located(enum.Enum):
    """What the ledger knows about the order a get/update names."""

    UNKNOWN = "unknown"
    """Not in the ledger (or not a well-formed id)."""
    LOCAL = "local"
    INCENTIVES = "incentives"
    HISTORY = "history"
    """A read-only copy of a legacy order (backfill): the real order lives on legacy."""


@dataclass(frozen=True, slots=True)
class Route:
    target: Target
    reason: Reason
    canary: bool = False
    fallback: Target | None = None
    """Where to serve the call if `target`'s upstream is unavailable (None: fail)."""
    shadow: Shadow | None = None


def bucket(app: str, customer: str) -> int:
    """The customer's stable canary bucket in [0, 10000)."""
    digest = hashlib.blake2b(f"{app}\x00{customer}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def customer_key(user_id: str | None, external_id: str | None) -> str | None:
    """The canary identity of a customer as the path names them (`u:` or `x:` + id)."""
    if user_id is not None:
        return f"u:{user_id}"
    if external_id is not None:
        return f"x:{external_id}"
    return None


CanaryStep = Callable[[str, Operation], float]
"""The current percentage of an analysed canary (app name, operation), from the shared state."""


def no_steps(_app: str, _operation: Operation) -> float:
    """Before the shared canary state is read: an analysed canary sends nobody."""
    return 0.0


class Router:
    def __init__(self, policy: Callable[[], Policy], canary_step: CanaryStep = no_steps) -> None:
        self._policy = policy
        self._canary_step = canary_step

    def canary_percent(self, app: str, operation: Operation, canary: Canary) -> float:
        """The canary's percentage: the policy's, or the analysed plan's current step."""
        if canary.analysis is not None:
            return self._canary_step(app, operation)
        return canary.percent or 0.0

    def decide(
        self,
        app: AppConfig,
        operation: Operation,
        customer: str | None = None,
        located: Located | None = None,
    ) -> Route:
        entry = self._policy().for_operation(app, operation)
        target, reason = entry.target, Reason.POLICY
        canary = entry.canary
        in_canary = bool(
            canary is not None
            and customer is not None
            and bucket(app.name, customer)
            < round(self.canary_percent(app.name, operation, canary) * 100)
        )
        if canary is not None and in_canary:
            target, reason = canary.target, Reason.CANARY
        if located is not None:
            found = _locate(app, located, target, operation in WRITES)
            if found is not target:
                target, reason = found, Reason.LOCATOR
        fallback = entry.fallback if entry.fallback is not target else None
        if reason is Reason.LOCATOR and operation in WRITES:
            fallback = None  # an order that lives upstream cannot be changed elsewhere
        return Route(target, reason, in_canary, fallback, entry.shadow)


def _locate(app: AppConfig, located: Located, chosen: Target, write: bool) -> Target:
    """The side that holds the order, given what the ledger knows and the chosen target."""
    if located is Located.LOCAL:
        return Target.LOCAL
    if located is Located.INCENTIVES:
        return Target.INCENTIVES
    if app.legacy_base_url is None:
        return chosen
    if located is Located.HISTORY and not write:
        return chosen  # reads of imported history are served from the ledger
    return Target.LEGACY
