"""Order ids across the two sides, correlated by construction.

Each side numbers its own orders, and after one create the shadow side refused, sampled out
or dropped, the two numberings no longer line up. So ids are never compared or sent as
they are; instead:

- a shadowed create whose two answers both carry an order records the pair
  (primary id, shadow id) in the diff store, with its comparison;
- a shadowed call that names an order by id (`get_order`, `update_order_status`) is sent with
  the shadow's id; with no pair the shadow side never saw the order, and the call is not sent
  at all: the comparison is `not_comparable`;
- the shadow's answer is read back with the primary's ids: a single order's id through its
  pair, a list's orders through theirs. An order only one side can correlate (the primary's
  order the shadow never made, the shadow's order no primary order is paired with) is left out
  of the comparison and counted; a list left with nothing to compare is `not_comparable`.

Pairs are keyed by app, primary target and shadow target, and live in the shared diff store,
so a restart or another replica reads the same pairs. Calibration runs (primary against
itself) need none of this.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote

from bridge.canonical import OrderFilter, Target
from bridge.cutover.policy import Operation
from bridge.errors import RequestError
from bridge.shadow.exchange import Exchange
from bridge.store.shadow_diffs import IdPair, ShadowDiffs, Sides
from mappings.legacy.list_orders import order_filter_from_query

ORDER_ID = "order_id"


class NotComparable(Exception):
    """The shadow side cannot answer for this call (it never saw the order)."""


@dataclass(frozen=True, slots=True)
class Aligned:
    """Both answers ready for the differ: the candidate's ids are the primary's."""

    primary: Any
    candidate: Any
    pair: IdPair | None = None
    """The pair a create made, to store with its comparison."""
    left_out: int = 0
    """Orders only one side could correlate, left out of the comparison."""

    @property
    def comparable(self) -> bool:
        """False when a list had orders but none the two sides share."""
        if not self.left_out or not isinstance(self.primary, dict):
            return True
        return bool(self.primary.get("orders")) or bool(_orders(self.candidate))


def sides_of(exchange: Exchange, target: Target) -> Sides:
    return Sides(exchange.app.name, exchange.primary_target.value, target.value)


class Correlator:
    def __init__(self, diffs: ShadowDiffs) -> None:
        self._diffs = diffs

    async def prepare(self, exchange: Exchange, target: Target) -> Exchange:
        """The call as the shadow side must get it: the order it names by the shadow's id.

        The order is the one the primary answered with (`007` names order 7), else the path's.
        """
        named = exchange.match_info.get(ORDER_ID)
        if named is None:
            return exchange
        primary_id = _named_order(exchange, named)
        found = await self._diffs.shadow_ids(sides_of(exchange, target), [primary_id])
        if primary_id not in found:
            raise NotComparable("the shadow side never saw this order")
        return renamed(exchange, named, found[primary_id])

    async def retire(self, exchange: Exchange, target: Target) -> None:
        """A shadowed write to an order failed on the shadow side: the two copies may now
        differ for good (an update the shadow never applied), so the order is no longer
        compared (its later gets and lists are not comparable, never mismatches)."""
        named = exchange.match_info.get(ORDER_ID)
        if named is not None:
            await self._diffs.retire(sides_of(exchange, target), _named_order(exchange, named))

    async def align(
        self, exchange: Exchange, target: Target, primary: Any, candidate: Any
    ) -> Aligned:
        sides = sides_of(exchange, target)
        if exchange.operation is Operation.LIST_ORDERS:
            return await self._align_lists(sides, _window(exchange), primary, candidate)
        shadow_id = _order_id(candidate)
        if shadow_id is None:
            return Aligned(primary, candidate)
        primary_id = _order_id(primary)
        if exchange.operation is Operation.CREATE_ORDER and primary_id is not None:
            pair = IdPair(sides, str(primary_id), str(shadow_id))
            return Aligned(primary, _with_order_id(candidate, primary_id), pair)
        found = (await self._diffs.primary_ids(sides, [str(shadow_id)])).get(str(shadow_id))
        if found is None:
            return Aligned(primary, candidate)
        read_back = primary_id if str(primary_id) == found else _typed(shadow_id, found)
        return Aligned(primary, _with_order_id(candidate, read_back))

    async def _align_lists(
        self, sides: Sides, window: OrderFilter | None, primary: Any, candidate: Any
    ) -> Aligned:
        mine, theirs = _orders(primary), _orders(candidate)
        if mine is None or theirs is None:
            return Aligned(primary, candidate)
        to_shadow = await self._diffs.shadow_ids(sides, _ids(mine))
        to_primary = await self._diffs.primary_ids(sides, _ids(theirs))
        in_mine, in_theirs = _compared_on(mine, window), _compared_on(theirs, window)
        kept = [order for order in mine if in_theirs(to_shadow.get(str(order.get("id"))))]
        values = {str(order["id"]): order["id"] for order in kept}
        read_back = [
            {**order, "id": values.get(found, _typed(order["id"], found))}
            for order in theirs
            if (found := to_primary.get(str(order.get("id")))) is not None and in_mine(found)
        ]
        left_out = len(mine) - len(kept) + len(theirs) - len(read_back)
        return Aligned(
            {**primary, "orders": kept}, {**candidate, "orders": read_back}, left_out=left_out
        )


def _window(exchange: Exchange) -> OrderFilter | None:
    """The page a list answered (None when its query cannot be read: nothing is windowed)."""
    try:
        return order_filter_from_query(exchange.query)
    except RequestError:
        return None


def _compared_on(
    page: list[dict[str, Any]], window: OrderFilter | None
) -> Callable[[str | None], bool]:
    """Whether an order's counterpart is to be compared against this side's `page`.

    A counterpart (the other side's id of a paired order) on the page is. One that is not
    is missing from it, unless the page is a window that can hold other orders on each side:
    a full page or any page past the first (orders only one side has shift the rest across
    page boundaries) or a date bound (each side stamps an order at its own time). Then the
    counterpart may be on another page of this side: the order is left out, not `missing`.
    """
    on_page = {str(order["id"]) for order in page if "id" in order}
    windowed = window is not None and (
        window.page > 1
        or len(page) >= window.limit
        or window.created_after is not None
        or window.created_before is not None
    )

    def compared(counterpart: str | None) -> bool:
        return counterpart is not None and (counterpart in on_page or not windowed)

    return compared


def renamed(exchange: Exchange, primary_id: str, shadow_id: str) -> Exchange:
    """The exchange naming `shadow_id` where it named `primary_id` (path and match info)."""
    path, mark, query = exchange.raw_path.partition("?")
    head, _, last = path.rpartition("/")
    if unquote(last) == primary_id:
        path = f"{head}/{quote(shadow_id, safe='')}"
    return replace(
        exchange,
        raw_path=path + mark + query,
        match_info={**exchange.match_info, ORDER_ID: shadow_id},
    )


def _orders(document: Any) -> list[dict[str, Any]] | None:
    orders = document.get("orders") if isinstance(document, dict) else None
    if not isinstance(orders, list) or not all(isinstance(item, dict) for item in orders):
        return None
    return orders


def _named_order(exchange: Exchange, named: str) -> str:
    """The primary id of the order a call names: the one the primary answered with (`007`
    names order 7), else the path's."""
    answered = _order_id(exchange.primary.document())
    return str(answered) if answered is not None else named


def _ids(orders: list[dict[str, Any]]) -> list[str]:
    return [str(order["id"]) for order in orders if "id" in order]


def _order_id(document: Any) -> Any:
    order = document.get("order") if isinstance(document, dict) else None
    value = order.get("id") if isinstance(order, dict) else None
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def _with_order_id(document: dict[str, Any], order_id: Any) -> dict[str, Any]:
    changed = copy.copy(document)
    changed["order"] = {**document["order"], "id": order_id}
    return changed


def _typed(like: Any, text: str) -> Any:
    """`text` as the JSON type of `like` (ids are stored as text)."""
    if isinstance(like, int) and text.lstrip("-").isdigit():
        return int(text)
    return text
