"""Garbage collection for workers that hold thousands of long-lived streams.

CPython's collector rescans every tracked object in a full collection. The objects
of open streams (greenlets, frames, sockets, environ dicts) live as long as their
streams, so with 5,000 streams a worker paused every stream for 60-650 ms per full
collection (measured with ``bench/trace_wsgi.py``). Instead each worker freezes
what has survived (``gc.freeze()``: never scanned again) every few seconds, so
collections only scan what is new. Cyclic garbage among frozen objects is reclaimed
by unfreezing and collecting everything once the frozen set has doubled since the
last time, or after ``reclaim_every`` seconds: a full pause, but rare. Until then it
stays, so what every stream makes must not be cyclic garbage: a stream breaks its
own cycles when it ends (:mod:`notifier.live.stream`) and is freed at once.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


class GcPolicy:
    """When to freeze and when to reclaim; driven by the worker's heartbeat."""

    def __init__(self, *, freeze_every: float = 5.0, reclaim_every: float = 900.0):
        self.freeze_every = freeze_every
        self.reclaim_every = reclaim_every
        self._next_freeze = 0.0
        self._last_reclaim: float | None = None
        self._frozen_after_reclaim = 0

    def tick(self, now: float) -> None:
        """Freeze or reclaim if it is time (``now`` is monotonic seconds)."""
        if now < self._next_freeze:
            return
        self._next_freeze = now + self.freeze_every
        if self._last_reclaim is None:
            self._last_reclaim = now
        frozen = gc.get_freeze_count()
        if (now - self._last_reclaim >= self.reclaim_every
                or frozen > 2 * max(self._frozen_after_reclaim, 50_000)):
            started = time.perf_counter()
            gc.unfreeze()
            collected = gc.collect()
            log.info("gc: reclaimed %d objects of %d frozen in %.0f ms", collected, frozen,
                     (time.perf_counter() - started) * 1000)
            self._last_reclaim = now
            gc.freeze()
            self._frozen_after_reclaim = gc.get_freeze_count()
            return
        gc.freeze()
