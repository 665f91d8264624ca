"""Recording a worker's stream opens and closes for the per-user cap, in batches.

A stream's setup never waits for the cap: it notes its open here and goes on, and one
greenlet writes every open and close of the last moment in one round trip
(:meth:`notifier.stores.stream_caps.StreamCaps.apply`), which also tells the oldest
streams past a user's cap to close. While Redis is unreachable the batch is dropped:
the cap is a limit, not a record, and the entries expire.
"""

from __future__ import annotations

import logging

import gevent
import redis

from notifier.core.clock import now_ms
from notifier.stores.stream_caps import StreamCaps

log = logging.getLogger(__name__)


class CapsRecorder:
    """Collects opens and closes, and writes them ``interval`` seconds after the first."""

    def __init__(self, caps: StreamCaps, *, interval: float = 0.05):
        self.caps = caps
        self.interval = interval
        self._opened: list[tuple[str, str, int]] = []
        self._closed: list[tuple[str, str]] = []
        self._writer: gevent.Greenlet | None = None

    def new_id(self) -> str:
        """An id for a stream about to open, unique across processes."""
        return self.caps.new_id()

    def opened(self, user_id: str, stream_id: str) -> None:
        """Note a stream that opened."""
        if self.caps.per_user > 0:
            self._opened.append((user_id, stream_id, now_ms()))
            self._soon()

    def closed(self, user_id: str, stream_id: str) -> None:
        """Note a stream that closed."""
        if self.caps.per_user > 0:
            self._closed.append((user_id, stream_id))
            self._soon()

    def _soon(self) -> None:
        if self._writer is None:
            self._writer = gevent.spawn_later(self.interval, self._write)

    def _write(self) -> None:
        opened, self._opened = self._opened, []
        closed, self._closed = self._closed, []
        self._writer = None
        try:
            self.caps.apply(opened, closed)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.info("could not record %d stream opens and %d closes: %s", len(opened),
                     len(closed), exc)
