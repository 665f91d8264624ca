"""Per-worker live stats for the admin console.

Counters are plain in-memory integers of this process, bumped where a send is
stored and where a stream writes a notification (never a Redis call per
event). Each worker's heartbeat reports them, with its open streams and users,
once a second into one hash; a worker that stops reporting is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script


@dataclass
class Counters:
    """Cumulative counts of this worker process."""

    #: Recipients stored by this worker's API sends (idempotent replays excluded).
    sent: int = 0
    #: Notification frames this worker wrote to live streams (live and replayed).
    delivered: int = 0
    #: Live events the hub wrote straight to idle streams' sockets (socket_writer).
    direct_writes: int = 0


#: This process's counters.
COUNTERS = Counters()

#: Seconds between a delivery worker's reports (the console counts it live for three).
DELIVERY_WORKER_BEAT = 5.0

#: Seconds between a scheduler's reports (counted live for three, as delivery workers).
SCHEDULER_BEAT = 5.0


class WorkerReports:
    """A hash of one JSON report per live worker: the web workers' (``workers``) or the
    delivery workers' (``hash_key``)."""

    def __init__(self, client: redis.Redis, keys: Keys, *, interval: float,
                 hash_key: str | None = None):
        if not (isinstance(interval, int | float) and interval > 0):
            raise ValueError(f"STATS_INTERVAL must be a positive number, not {interval!r}")
        self.client = client
        self.keys = keys
        self.hash_key = hash_key or keys.worker_reports()
        #: A report older than this (three intervals, at least 3 s) is a dead worker's.
        self.max_age_ms = round(max(3 * interval, 3.0) * 1000)
        self._report = load_script(client, "worker_report")

    def report(self, worker_id: str, report: dict[str, Any]) -> None:
        """Store ``report`` for ``worker_id`` (its ``at`` is Redis's time) and drop dead ones."""
        self._report(keys=[self.hash_key],
                     args=[worker_id, json.dumps(report), self.max_age_ms])

    def remove(self, worker_id: str) -> None:
        """Forget a worker that is stopping."""
        self.client.hdel(self.hash_key, worker_id)

    def read_workers(self) -> list[dict[str, Any]]:
        """The reports of the live workers, by worker id.

        A web worker's is ``{"worker", "pid", "host", "streams", "users", "sent",
        "delivered", "direct_writes", "at"}`` (``at`` in epoch ms, Redis's clock); a
        delivery worker's has its :class:`~notifier.delivery.worker.Totals` instead.
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        pipe.hgetall(self.hash_key)
        (seconds, micros), fields = pipe.execute()
        oldest = seconds * 1000 + micros // 1000 - self.max_age_ms
        reports = []
        for worker_id, value in sorted(fields.items()):
            try:
                report = json.loads(value)
            except ValueError:
                continue
            if isinstance(report, dict) and report.get("at", 0) >= oldest:
                report["worker"] = worker_id.decode()
                reports.append(report)
        return reports
