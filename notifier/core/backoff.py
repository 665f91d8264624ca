"""Capped exponential backoff with jitter, for every loop that waits out an outage."""

from __future__ import annotations

import random


class Backoff:
    """Waits of ``first``, then twice the last, up to ``cap`` seconds, each scaled by a
    random factor within ``jitter``; :meth:`reset` after a success starts over."""

    def __init__(self, first: float, cap: float, jitter: tuple[float, float] = (0.8, 1.2)):
        self.first = first
        self.cap = cap
        self.jitter = jitter
        #: The last wait before jitter (0 before the first).
        self.delay = 0.0

    def next(self) -> float:
        """The next wait, in seconds."""
        self.delay = self.first if self.delay == 0 else min(self.delay * 2, self.cap)
        return self.delay * random.uniform(*self.jitter)

    def reset(self) -> None:
        """Start over from ``first``."""
        self.delay = 0.0
