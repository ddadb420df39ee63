"""Process-wide runtime settings the application applies at start (the ``wallboard`` command).

Kept out of wallboard/core: a library must not change process-wide state; the application may.
"""

from __future__ import annotations

import gc

# The engine keeps tens of thousands of long-lived objects (agents, waiting calls, the rolling window) and a
# feed brings thousands of short-lived event objects a second. With CPython's default thresholds (700, 10, 10)
# the collector rescans the long-lived ones many times a second for no garbage: about 20% of the time of
# parse + apply (benchmarks/engine.py). Our event objects form no cycles, so collecting less often frees the
# same memory.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
