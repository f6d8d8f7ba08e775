"""The fault-injecting upstream the tests put in front of a real sandbox or legacy stand-in.

It lives in bridge/sandbox/faults.py since `make rehearse` runs one too (docs/rehearsal.md);
the tests import it from here as before.
"""

from __future__ import annotations

from bridge.sandbox.faults import Fault, FaultyUpstream, Kind, Tally

__all__ = ["Fault", "FaultyUpstream", "Kind", "Tally"]
