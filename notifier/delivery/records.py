"""What happened to each delivery: idempotency records and per-notification timelines.

*Records*: before a worker sends a job to a target it looks for a record keyed by
(job id, target id); after the provider accepted, it writes one. A retried or
reclaimed job therefore never sends twice to a target that accepted it.

*Timeline*: every attempt per channel and target, with its time, outcome and
error, appended to a list per notification (a digest's events go to each of its
notifications). Both live in the user's slot and expire after the record TTL.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from notifier.core.clock import iso_utc
from notifier.core.keys import Keys
from notifier.delivery.queue import Job
from notifier.stores.script_batch import ScriptBatch

#: What a timeline event can say happened.
OUTCOMES = ("accepted", "retry", "failed", "gone", "skipped", "held", "dead", "done-before")


@dataclass(frozen=True)
class Event:
    """One line of a notification's delivery timeline."""

    channel: str
    outcome: str
    attempt: int
    target: str | None = None
    kind: str | None = None
    detail: str = ""
    #: How many notifications the delivery carried (more than 1: a digest).
    digest: int = 1
    #: Epoch ms; now when not given.
    at_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        at = self.at_ms or int(time.time() * 1000)
        return {"at": iso_utc(datetime.fromtimestamp(at / 1000, UTC)),
                "channel": self.channel, "outcome": self.outcome, "attempt": self.attempt,
                "target": self.target, "kind": self.kind, "detail": self.detail,
                "digest": self.digest}


class Deliveries:
    """Records and timelines on one Redis client under one key scheme."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_seconds: int = 7 * 86400):
        self.client = client
        self.keys = keys
        self.ttl = int(ttl_seconds)

    def accepted(self, jobs: list[Job]) -> list[dict[str, str]]:
        """For each job, the targets that accepted it already: target id -> provider detail.
        One round trip for all."""
        if not jobs:
            return []
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            pipe.hgetall(self.keys.delivery_records(job.user_id, job.job_id))
        return [{k.decode(): v.decode() for k, v in found.items()} for found in pipe.execute()]

    def record_accepted(self, batch: ScriptBatch, job: Job, target_id: str,
                        detail: str) -> None:
        """Remember that ``target_id`` accepted ``job`` (queued on ``batch``)."""
        key = self.keys.delivery_records(job.user_id, job.job_id)
        batch.command(key, "HSET", key, target_id, detail or "accepted")
        batch.command(key, "EXPIRE", key, self.ttl)

    def add(self, batch: ScriptBatch, job: Job, events: list[Event]) -> None:
        """Append ``events`` to the timeline of each of ``job``'s notifications."""
        if not events:
            return
        lines = [json.dumps(e.to_dict(), separators=(",", ":"), ensure_ascii=False)
                 for e in events]
        for notification in job.notifications:
            key = self.keys.delivery_timeline(job.user_id, notification["id"])
            batch.command(key, "RPUSH", key, *lines)
            batch.command(key, "EXPIRE", key, self.ttl)

    def timeline(self, user_id: str, notification_id: str) -> list[dict[str, Any]]:
        """The notification's delivery events, oldest first."""
        lines = self.client.lrange(self.keys.delivery_timeline(user_id, notification_id), 0, -1)
        return [json.loads(line) for line in lines]
