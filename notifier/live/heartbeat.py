"""Each worker's heartbeat: one greenlet that keeps presence and the worker's stats current.

It also runs the worker's garbage-collection policy (:mod:`notifier.core.gc_policy`).

Every ~100 ms it sends the presence changes of the worker's streams (batched),
every presence interval it re-asserts all of them, eight times an interval it
sweeps expired users, and every stats interval it reports the worker's
counters. The worker's runtime (:mod:`notifier.live.runtime`) starts it when gunicorn
starts the worker; it is never started at import time nor by ``create_app``.
"""

from __future__ import annotations

import logging
import time

import gevent
import redis

from notifier.core import metrics
from notifier.core.backoff import Backoff
from notifier.core.gc_policy import GcPolicy
from notifier.core.runtime import new_worker_id
from notifier.live.hub import Hub
from notifier.stores.presence import Presence, PresenceTracker
from notifier.stores.worker_stats import COUNTERS, WorkerReports

log = logging.getLogger(__name__)

#: Seconds between the heartbeat's wake-ups: how long a presence change may wait.
TICK = 0.1


class Heartbeat:
    """The greenlet of one worker process."""

    def __init__(self, *, hub: Hub, presence: Presence, reports: WorkerReports,
                 stats_interval: float, worker_id: str | None = None):
        self.hub = hub
        self.reports = reports
        self.worker_id = worker_id or new_worker_id()
        self.stats_interval = stats_interval
        self.tracker = PresenceTracker(presence, self.worker_id, hub.users)
        hub.presence_listener = self.tracker.stream_change
        self._next_report = 0.0
        self.gc = GcPolicy()
        self._running = False
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start beating (once)."""
        if self._greenlet is None:
            self._running = True
            self._greenlet = gevent.spawn(self._run)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop beating and withdraw this worker's stats report.

        Its presence entries are left to expire: the streams it ends on
        shutdown reconnect to other workers within seconds, and their users
        should not flicker offline meanwhile.
        """
        self._running = False
        if self._greenlet is not None:
            self._greenlet.join(timeout)
        try:
            self.reports.remove(self.worker_id)
        except (redis.RedisError, OSError) as exc:
            log.info("could not withdraw the stats report of %s: %s", self.worker_id, exc)

    def beat(self, now: float) -> None:
        """Do what is due at monotonic time ``now``."""
        self.gc.tick(now)
        self.tracker.sync(now)
        if now >= self._next_report:
            snapshot = self.snapshot()
            started = time.perf_counter()
            self.reports.report(self.worker_id, snapshot)
            metrics.redis_latency.observe(time.perf_counter() - started)
            self._next_report = now + self.stats_interval

    def snapshot(self) -> dict:
        """This worker's stats now."""
        host, pid, _ = self.worker_id.rsplit(":", 2)
        return {"worker": self.worker_id, "pid": int(pid), "host": host,
                "streams": self.hub.stream_count(), "users": len(self.hub.users()),
                "sent": COUNTERS.sent, "delivered": COUNTERS.delivered,
                "direct_writes": COUNTERS.direct_writes}

    def _run(self) -> None:
        outage = Backoff(0.5, 10.0, jitter=(0.5, 1.5))
        while self._running:
            try:
                self.beat(time.monotonic())
                outage.reset()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                wait = outage.next()
                log.warning("heartbeat lost Redis (%s); retrying in %.1fs", exc, outage.delay)
                gevent.sleep(wait)
            except Exception:  # a dead heartbeat would take the worker's users offline
                log.exception("heartbeat failed; retrying")
                gevent.sleep(1.0)
            gevent.sleep(TICK)
