"""How a long-running cets service sets up the Python runtime: its event loop, and its
garbage collector once it has started.

The event loop is uvloop's (:func:`run`). A fan-out to 200 agencies is thousands of
callbacks and task steps on the loop; measured with the coordinator's own fan-out (the scale
benchmark's peers, runs alternated): 59.6 ms of CPU per query on asyncio's loop, 56.8 on
uvloop's.

The garbage collector. A started service holds about a quarter of a million objects that
live as long as it does (modules, protobuf descriptors, the membership, channels), and a
query keeps thousands of short-lived ones in flight at once: a federated search to 200
agencies holds a future, a task, a message and an outcome for each of them until its answers
are in. With
CPython's default thresholds (a young collection every 700 net allocations) such a query
triggers about eight young collections, most of whose objects are still in use, so they
survive into the older generations, whose collections then walk every one of the long-lived
objects again. Measured with the coordinator's own fan-out at 200 agencies (the scale
benchmark's peers, alternated in one process): 65.7 ms of CPU per query as CPython sets it up,
60.1 ms after :func:`settle`, 59.6 ms with the collector off.

:func:`settle` therefore moves everything alive at start-up out of the collector's sight
(``gc.freeze``: never collected, never walked again) and lets the young generation grow to
:data:`YOUNG_THRESHOLD` objects before it is collected. Garbage in reference cycles is still
collected, only later; memory held by it is bounded by the threshold.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

__all__ = ["YOUNG_THRESHOLD", "run", "settle"]

_T = TypeVar("_T")

YOUNG_THRESHOLD = 10_000
"""Net new objects before the youngest generation is collected (CPython's default: 700)."""

_log = logging.getLogger(__name__)


def settle() -> None:
    """Call once a service has started (its modules imported, its state loaded): objects
    alive now are frozen, and young collections come every :data:`YOUNG_THRESHOLD` objects.
    The older generations keep CPython's own ratios. Calling it again freezes what has
    accumulated since."""
    gc.collect()  # what start-up left behind goes now, not into the frozen set
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    _log.debug("garbage collector settled", extra={"frozen": gc.get_freeze_count()})


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """Run a service's ``main`` to its end on a new uvloop event loop (as ``asyncio.run``)."""
    return uvloop.run(main)
