"""Garbage collection for workers that hold thousands of long-lived streams.

CPython's collector rescans every tracked object in a full collection. The objects
of open streams (greenlets, frames, sockets, environ dicts) live as long as their
streams, so with 5,000 streams a worker paused every stream for 60-650 ms per full
collection (measured with ``bench/trace_wsgi.py``). Instead each worker freezes
what has survived (``gc.freeze()``: never scanned again) every few seconds, so
collections only scan what is new. Cyclic garbage among frozen objects is reclaimed
by unfreezing and collecting everything every ``reclaim_every`` seconds (each worker
at its own random point in that period): a full pause, but rare. Growth alone never
triggers it: thousands of streams opening at once (a restart's reconnects) would
otherwise pause every stream of the worker just as they all start. Until then
frozen garbage stays, so what every stream makes must not be cyclic garbage: a stream
breaks its own cycles when it ends (:mod:`notifier.live.stream`) and is freed at once.
"""

from __future__ import annotations

import gc
import logging
import random
import time

log = logging.getLogger(__name__)


class GcPolicy:
    """When to freeze and when to reclaim; driven by the worker's heartbeat."""

    def __init__(self, *, freeze_every: float = 5.0, reclaim_every: float = 900.0):
        self.freeze_every = freeze_every
        self.reclaim_every = reclaim_every
        self._next_freeze = 0.0
        self._next_reclaim: float | None = None

    def tick(self, now: float) -> None:
        """Freeze or reclaim if it is time (``now`` is monotonic seconds)."""
        if now < self._next_freeze:
            return
        self._next_freeze = now + self.freeze_every
        if self._next_reclaim is None:  # workers started together reclaim apart
            self._next_reclaim = now + random.uniform(0.5, 1.0) * self.reclaim_every
        if now >= self._next_reclaim:
            frozen = gc.get_freeze_count()
            started = time.perf_counter()
            gc.unfreeze()
            collected = gc.collect()
            log.info("gc: reclaimed %d objects of %d frozen in %.0f ms", collected, frozen,
                     (time.perf_counter() - started) * 1000)
            self._next_reclaim = now + self.reclaim_every
        gc.freeze()
