"""The delivery queue: one job per (notification, user, channel) on a Redis Stream.

Workers read jobs through one consumer group (``XREADGROUP``) and acknowledge a
job only after its outcome is recorded, so a worker that dies mid-job leaves it
pending; another worker claims it once it has been idle longer than the
visibility timeout (``XAUTOCLAIM``). An acknowledged entry is deleted in the same
script, so the stream only ever holds jobs waiting or in progress and is never
trimmed (trimming could drop entries still pending).

Besides the stream, all in the ``{d}`` slot (see :mod:`notifier.core.keys`):

- retries wait in a sorted set scored by when they are due;
- held jobs (quiet hours, an exhausted budget) wait in per-(user, channel)
  buckets, released together as one digest job when the bucket's time comes;
- jobs that used up their attempts go to a dead-letter stream with their last
  error, written in the same script that acknowledges them.

**A job's fields** (all strings), as :meth:`DeliveryQueue.enqueue` writes them;
a Lua script may ``XADD`` the same to :meth:`notifier.core.keys.Keys.delivery_jobs`:

``job``
    the job id, ``<notification id>:<channel>`` (unique per user; a digest's is
    its first job's id and ``+<notifications - 1>``)
``user``, ``channel``, ``nid``
    the user id, the delivery channel, the (first) notification id
``n``
    the notification as JSON (``Notification.to_dict()``; a stored inbox
    payload without ``id``/``user_id``/``read`` will do, the worker completes it
    from ``nid`` and ``user``), or a JSON array of them for a digest
``k``
    how many notifications (absent: 1)
``attempt``
    1 for a new job
``not_before``
    epoch ms before which it must not be sent (the end of quiet hours); ``0``: now
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import redis
from redis.commands.core import Script

from notifier.core.ids import parse_notification_id
from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

#: The consumer group every worker reads the job stream through.
GROUP = "workers"

#: Fields a job carries, in the order they are written.
JOB_FIELDS = ("job", "user", "channel", "nid", "n", "k", "attempt", "not_before")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def epoch_ms(moment: datetime | float | int | None) -> int:
    """``moment`` (an aware datetime or epoch seconds) in epoch ms, rounded up; None: 0."""
    if moment is None:
        return 0
    seconds = moment.timestamp() if isinstance(moment, datetime) else float(moment)
    return max(0, math.ceil(seconds * 1000))


def complete_notification(doc: dict[str, Any], notification_id: str, user_id: str) -> dict:
    """``doc`` in ``Notification.to_dict()`` shape: a stored inbox payload gets its id,
    user and read state from the job."""
    doc.setdefault("id", notification_id)
    doc.setdefault("user_id", user_id)
    doc.setdefault("read", False)
    doc.setdefault("source", "group" if doc.get("group") else "direct")
    for name in ("group", "starts_at", "ends_at"):
        doc.setdefault(name, None)
    return doc


@dataclass(frozen=True)
class Job:
    """One delivery job: one notification (or a digest of several) for one user and channel."""

    job_id: str
    user_id: str
    channel: str
    notification_id: str
    #: ``Notification.to_dict()`` of each, in the order they were queued.
    notifications: tuple[dict[str, Any], ...]
    attempt: int = 1
    #: Epoch ms before which it is held (0: send now).
    not_before: int = 0
    #: The stream entry it was read from ('' when not read from the stream).
    entry_id: str = ""
    #: How many times the group handed this entry out (more than 1: reclaimed).
    deliveries: int = 1
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_digest(self) -> bool:
        """Several notifications collapsed into one delivery."""
        return len(self.notifications) > 1

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict) -> Job:
        """Decode a stream entry (or a stored job's fields)."""
        values = {_text(k): _text(v) for k, v in fields.items()}
        user_id, nid = values["user"], values.get("nid", "")
        decoded = json.loads(values["n"])
        docs = decoded if isinstance(decoded, list) else [decoded]
        notifications = tuple(complete_notification(d, nid, user_id) for d in docs)
        return cls(job_id=values["job"], user_id=user_id, channel=values["channel"],
                   notification_id=nid or notifications[0]["id"],
                   notifications=notifications, attempt=int(values.get("attempt") or 1),
                   not_before=int(values.get("not_before") or 0), entry_id=entry_id,
                   extra={k: v for k, v in values.items() if k not in JOB_FIELDS})

    def fields(self) -> dict[str, str]:
        """The stream fields of this job."""
        docs = list(self.notifications)
        n = docs[0] if len(docs) == 1 else docs
        out = {"job": self.job_id, "user": self.user_id, "channel": self.channel,
               "nid": self.notification_id,
               "n": json.dumps(n, separators=(",", ":"), ensure_ascii=False),
               "attempt": str(self.attempt), "not_before": str(self.not_before)}
        if len(docs) > 1:
            out["k"] = str(len(docs))
        return out

    def to_json(self) -> str:
        """The fields as one JSON object, ``job`` first (held jobs sort by it)."""
        return json.dumps(self.fields(), separators=(",", ":"), ensure_ascii=False)

    def next_attempt(self) -> Job:
        """This job as its next attempt."""
        return replace(self, attempt=self.attempt + 1, entry_id="", deliveries=1)


@dataclass(frozen=True)
class DeadLetter:
    """A job that used up its attempts (or failed for good), with its last error."""

    id: str
    job: Job
    error: str
    failed_at: datetime


class DeliveryQueue:
    """The job stream, its retries, held buckets and dead letters on one Redis client."""

    def __init__(self, client: redis.Redis, keys: Keys):
        self.client = client
        self.keys = keys
        self._due = load_script(client, "delivery_due")
        self._hold = load_script(client, "delivery_hold")
        self._retry = load_script(client, "delivery_retry")
        self._dead = load_script(client, "delivery_dead")
        self._ack = load_script(client, "delivery_ack")
        self._dead_retry = load_script(client, "delivery_dead_retry")
        self._renew = load_script(client, "delivery_renew")

    # -- producing -----------------------------------------------------------
    def enqueue(self, user_id: str, notification: dict[str, Any], channel: str, *,
                not_before: datetime | float | None = None, pipeline=None) -> None:
        """Queue the delivery of ``notification`` (``Notification.to_dict()``) to
        ``user_id`` on ``channel``; held until ``not_before`` (aware datetime or epoch
        seconds) when given. Pass ``pipeline`` to batch it with other commands."""
        nid = notification["id"]
        job = Job(job_id=f"{nid}:{channel}", user_id=user_id, channel=channel,
                  notification_id=nid, notifications=(notification,),
                  not_before=epoch_ms(not_before))
        (pipeline or self.client).xadd(self.keys.delivery_jobs(), job.fields())

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless they exist. The group
        starts at the stream's beginning, so jobs queued before any worker ran are read."""
        try:
            self.client.xgroup_create(self.keys.delivery_jobs(), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- consuming -----------------------------------------------------------
    def read(self, consumer: str, count: int, block_ms: int | None) -> list[Job]:
        """Up to ``count`` new jobs for ``consumer``, waiting up to ``block_ms`` for one."""
        reply = self.client.xreadgroup(GROUP, consumer, {self.keys.delivery_jobs(): ">"},
                                       count=count, block=block_ms)
        if not reply:
            return []
        _, entries = reply[0]
        return [Job.from_fields(_text(entry_id), fields) for entry_id, fields in entries
                if fields]

    def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Job]:
        """Jobs other consumers (or this one, before a reconnect) held longer than
        ``min_idle_ms`` without finishing, now claimed for ``consumer``."""
        reply = self.client.xautoclaim(self.keys.delivery_jobs(), GROUP, consumer,
                                       min_idle_ms, start_id="0-0", count=count)
        entries = [(e[0], e[1]) for e in reply[1] if e and e[1]]
        if not entries:
            return []
        first, last = _text(entries[0][0]), _text(entries[-1][0])
        pending = self.client.xpending_range(self.keys.delivery_jobs(), GROUP, first, last,
                                             len(entries) + 100, consumername=consumer)
        times = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [replace(Job.from_fields(_text(i), f), deliveries=times.get(_text(i), 2))
                for i, f in entries]

    def renew(self, consumer: str, entry_ids: list[str]) -> int:
        """Keep jobs ``consumer`` is still working on from being reclaimed (their idle
        time starts again); returns how many it still held."""
        if not entry_ids:
            return 0
        return int(self._renew(keys=[self.keys.delivery_jobs()],
                               args=[GROUP, consumer, *entry_ids]))

    def release(self, consumer: str, entry_ids: list[str], idle_ms: int) -> None:
        """Give back jobs this consumer holds but will not start (it is stopping): they
        look idle for ``idle_ms`` already, so another worker reclaims them at once."""
        if entry_ids:
            self.client.xclaim(self.keys.delivery_jobs(), GROUP, consumer, 0, entry_ids,
                               idle=idle_ms, justid=True)

    def promote_due(self, limit: int = 100) -> tuple[int, int | None]:
        """Move due retries and released buckets into the stream.

        Returns how many jobs were added and when the next one is due (epoch ms, or None).
        """
        added, wake = self._due(keys=[self.keys.delivery_jobs(), self.keys.delivery_delayed(),
                                      self.keys.delivery_held(),
                                      self.keys.delivery_held_jobs()], args=[limit])
        return int(added), int(wake) if wake else None

    # -- finishing (each takes a batch: a worker writes a batch's outcomes at once) --
    def _finish(self, script: Script, keys: list[str], args: list, batch: ScriptBatch | None):
        """Run ``script`` now, or queue it on ``batch``."""
        if batch is None:
            script(keys=keys, args=args)
        else:
            batch.script(script, keys, args)

    def ack(self, entry_ids: list[str], batch: ScriptBatch | None = None) -> None:
        """Acknowledge finished jobs and delete their entries."""
        if entry_ids:
            self._finish(self._ack, [self.keys.delivery_jobs()], [GROUP, *entry_ids], batch)

    def hold(self, job: Job, until_ms: int, reason: str,
             batch: ScriptBatch | None = None) -> None:
        """Hold ``job`` with the others of its (user, channel, reason) until ``until_ms``
        and acknowledge its entry; they are released together as one digest."""
        bucket = f"{job.user_id}|{job.channel}|{reason}"
        held = replace(job, not_before=0, attempt=1)
        self._finish(self._hold, [self.keys.delivery_jobs(), self.keys.delivery_held(),
                                  self.keys.delivery_held_jobs()],
                     [GROUP, job.entry_id, bucket, held.to_json(), until_ms], batch)

    def retry(self, job: Job, delay_ms: int, batch: ScriptBatch | None = None) -> None:
        """Queue ``job``'s next attempt after ``delay_ms`` and acknowledge this one."""
        self._finish(self._retry, [self.keys.delivery_jobs(), self.keys.delivery_delayed()],
                     [GROUP, job.entry_id, job.next_attempt().to_json(), delay_ms], batch)

    def dead_letter(self, job: Job, error: str, batch: ScriptBatch | None = None) -> None:
        """Write ``job`` to the dead letters with ``error``, then acknowledge it."""
        fields = {**job.fields(), "error": error[:2000], "failed_at": str(int(
            time.time() * 1000))}
        flat = [part for pair in fields.items() for part in pair]
        self._finish(self._dead, [self.keys.delivery_jobs(), self.keys.delivery_dead()],
                     [GROUP, job.entry_id, *flat], batch)

    # -- dead letters ----------------------------------------------------------
    def dead_letters(self, limit: int = 50, before: str | None = None) -> list[DeadLetter]:
        """Dead letters, newest first, older than the dead letter id ``before``."""
        if before is not None and parse_notification_id(before) == (0, 0):
            return []  # nothing is older (and Redis refuses "(0-0" as a bound)
        high = f"({before}" if before else "+"
        entries = self.client.xrevrange(self.keys.delivery_dead(), high, "-", count=limit)
        letters = []
        for entry_id, fields in entries:
            values = {_text(k): _text(v) for k, v in fields.items()}
            letters.append(DeadLetter(
                id=_text(entry_id), job=Job.from_fields("", values), error=values["error"],
                failed_at=datetime.fromtimestamp(int(values["failed_at"]) / 1000, UTC)))
        return letters

    def dead_letter_count(self) -> int:
        """How many dead letters there are."""
        return self.client.xlen(self.keys.delivery_dead())

    def retry_dead_letter(self, dead_id: str) -> bool:
        """Queue a dead letter again as a fresh job (targets that accepted it are still
        skipped); False when there is no such dead letter."""
        return bool(self._dead_retry(keys=[self.keys.delivery_jobs(),
                                           self.keys.delivery_dead()], args=[dead_id]))

    def discard_dead_letter(self, dead_id: str) -> bool:
        """Delete a dead letter; False when there is no such dead letter."""
        return bool(self.client.xdel(self.keys.delivery_dead(), dead_id))

    # -- counting ----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Jobs in the stream (waiting or in progress), pending (handed out, not yet
        acknowledged), waiting to be retried, held, and dead letters."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xlen(self.keys.delivery_jobs())
        pipe.zcard(self.keys.delivery_delayed())
        pipe.zcard(self.keys.delivery_held_jobs())
        pipe.xlen(self.keys.delivery_dead())
        queued, delayed, held, dead = pipe.execute()
        try:
            pending = self.client.xpending(self.keys.delivery_jobs(), GROUP)["pending"]
        except redis.ResponseError:  # no group yet
            pending = 0
        return {"queued": queued, "pending": pending, "retrying": delayed, "held": held,
                "dead": dead}

    def oldest_job_ms(self) -> int | None:
        """When the oldest job still in the stream (waiting or in progress) was queued, in
        epoch ms; None when there is none."""
        first = self.client.xrange(self.keys.delivery_jobs(), count=1)
        if not first:
            return None
        return int(_text(first[0][0]).split("-", 1)[0])
