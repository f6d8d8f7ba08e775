"""CPU of the declared mappings on the request path, one mapping at a time, in one process.

What a request pays for its mappings (bridge/mapping.py), measured on the golden inputs of
tests/mappings/golden:

- `ok_order`: one legacy order object (mappings/legacy/order.py), as a get or a create renders
  it; `ok_orders[25]`: a page of 25, as a list renders it;
- `<call>.body`: each Incentives call's request body (`Call.body`, as `Tenant.send` builds it,
  from typed inputs: the tenant config and canonical models);
- `<call>.response`: each response mapping as `Tenant` reads an answer's payload (the payload
  model validated, then the mapping applied).

Each figure is microseconds of process CPU per call, the best of `--repeats` rounds of
`--number` calls (timeit's way of taking the least disturbed round on a shared box).
`--profile NAME` prints cProfile's top functions for one of them instead.
Run: .venv/bin/python bench/mapping_cost.py [--number 5000] [--repeats 7] [--profile ok_order]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.canonical import Order
from bridge.mapping import Call, Mapping
from mappings.incentives import MODULES
from mappings.legacy.order import ok_order, ok_orders

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "mappings" / "golden"


def _golden(path: Path) -> Any:
    return json.loads(path.read_text())


def cases() -> dict[str, Callable[[], object]]:
    """Name -> a call of one mapping on its golden input (typed as on a request)."""
    order = Order.model_validate(_golden(GOLDEN / "legacy" / "order.json")["given"]["order"])
    page = [order.model_copy(update={"id": index}) for index in range(1, 26)]
    found: dict[str, Callable[[], object]] = {
        "ok_order": lambda: ok_order(order),
        "ok_orders[25]": lambda: ok_orders(page),
    }
    for module in MODULES:
        name = module.__name__.rsplit(".", 1)[1]
        document = _golden(GOLDEN / "incentives" / f"{name}.json")
        call = module.CALL
        if call.request is not None:
            found[f"{name}.body"] = _body(call, document["request"]["given"])
        if call.response is not None:
            found[f"{name}.response"] = _response(call.response, document["response"])
    return found


def _body(call: Call, given: dict[str, Any]) -> Callable[[], object]:
    """`Call.body` on typed inputs, as `Tenant.send` passes them (models, not JSON)."""
    assert call.request is not None
    typed = call.request.source.model_validate(given)
    inputs = {field: getattr(typed, field) for field in type(typed).model_fields}
    return lambda: call.body(**inputs)


def _response(response: Mapping[Any], pair: dict[str, Any]) -> Callable[[], object]:
    """A response mapping as `Tenant` applies it: the payload model, then the mapping (with
    what `Tenant` supplies, such as core_user's app)."""
    payload, supplied = pair["given"], pair.get("supplied", {})
    return lambda: response.apply(response.source.model_validate(payload), **supplied)


def cpu_us(function: Callable[[], object], number: int, repeats: int) -> float:
    timer = timeit.Timer(function, timer=time.process_time)
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", metavar="NAME")
    options = parser.parse_args()
    found = cases()
    if options.profile:
        function = found[options.profile]
        profile = cProfile.Profile()
        profile.runcall(lambda: [function() for _ in range(options.number)])
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    for name, function in found.items():
        number = max(options.number // 25, 1) if name == "ok_orders[25]" else options.number
        print(f"{name:28} {cpu_us(function, number, options.repeats):8.2f} us")


if __name__ == "__main__":
    main()
