"""CPython's cyclic garbage collector set for a serving process (docs/performance.md,
"The garbage collector").

Once the app has started, the process holds about 140,000 objects that live as long as it
does (modules, the app and its routes, SQLAlchemy's schema, pydantic's validators, the
compiled mappings). With the interpreter's defaults every full collection walks all of them
again (about 57 ms each on the bench machine, 19 in one 30-second arm) and a call's
short-lived containers trigger a young collection every 700 allocations: 13-19 % of a busy
bridge's CPU went to the collector. So, once started:

- `gc.freeze()` moves every object alive at that point into the permanent generation, which
  no collection walks (what the `gc` documentation recommends for a long-lived server);
- the youngest generation's threshold goes from 700 to `YOUNG_THRESHOLD`: a call's objects
  are freed by reference counting long before that many accumulate, so only real cycles
  (a failed call's traceback, a closed connection) bring a collection, and each stays short.

Garbage cycles still get collected, a little later: at most `YOUNG_THRESHOLD` container
objects wait for it (a few megabytes). The bench's Python floor arms (bench/proxy.py,
bench/floor.py) run with the same settings, so the ratios compare like with like.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000
"""Allocations (net of deallocations) of container objects between young collections."""
OLDER_THRESHOLDS = (20, 100)
"""Young collections per middle one, middle ones per full one (defaults 10, 10)."""


def settle_after_start() -> int:
    """Freeze what start-up built and space out the collections (call once the app has
    started, before listening: the one full collection takes tens of milliseconds);
    returns how many objects were frozen (the `server_started` log line shows it)."""
    gc.collect()  # start-up's own garbage, so that it is not frozen for ever
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    return gc.get_freeze_count()
