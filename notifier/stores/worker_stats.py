"""Per-worker live stats for the admin console.

Counters are plain in-memory integers of this process, bumped where a send is
stored and where a stream writes a notification (never a Redis call per
event). Each worker's heartbeat reports them, with its open streams and users,
once a second into one of a few hashes (partitions by worker id, so a cluster
spreads them); a worker that stops reporting is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from notifier.core.keys import Keys, partition_of
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch


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
    """One JSON report per live worker, in hashes partitioned by worker id: the web
    workers' (:meth:`Keys.worker_reports`) or others' (``partitions``)."""

    def __init__(self, client: redis.Redis, keys: Keys, *, interval: float,
                 partitions: list[str] | None = None):
        if not (isinstance(interval, int | float) and interval > 0):
            raise ValueError(f"STATS_INTERVAL must be a positive number, not {interval!r}")
        self.client = client
        self.keys = keys
        self.partitions = partitions or keys.worker_reports()
        #: A report older than this (three intervals, at least 3 s) is a dead worker's.
        self.max_age_ms = round(max(3 * interval, 3.0) * 1000)
        self._report = load_script(client, "worker_report")
        self._read = load_script(client, "worker_reports_read")

    def hash_of(self, worker_id: str) -> str:
        """The hash ``worker_id`` reports into."""
        return self.partitions[partition_of(worker_id, len(self.partitions))]

    def report(self, worker_id: str, report: dict[str, Any]) -> None:
        """Store ``report`` for ``worker_id`` (its ``at`` is Redis's time) and drop dead ones
        of its partition."""
        self._report(keys=[self.hash_of(worker_id)],
                     args=[worker_id, json.dumps(report), self.max_age_ms])

    def remove(self, worker_id: str) -> None:
        """Forget a worker that is stopping."""
        self.client.hdel(self.hash_of(worker_id), worker_id)

    def read_workers(self) -> list[dict[str, Any]]:
        """The reports of the live workers, by worker id.

        A web worker's is ``{"worker", "pid", "host", "streams", "users", "sent",
        "delivered", "direct_writes", "at"}`` (``at`` in epoch ms, Redis's clock); a
        delivery worker's has its :class:`~notifier.delivery.worker.Totals` instead.
        """
        batch = ScriptBatch(self.client)
        for name in self.partitions:
            batch.script(self._read, [name], [self.max_age_ms])
        reports = []
        for flat in batch.execute():
            for i in range(0, len(flat), 2):
                try:
                    report = json.loads(flat[i + 1])
                except ValueError:
                    continue
                if isinstance(report, dict):
                    report["worker"] = flat[i].decode()
                    reports.append(report)
        return sorted(reports, key=lambda report: report["worker"])
