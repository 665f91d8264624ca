"""The delivery queue: one job per (notification, user, channel) on Redis Streams.

The queue is split into :data:`~notifier.core.keys.PARTITIONS` partitions by user
id, each in a slot of its own (``{d.<n>}``, see :mod:`notifier.core.keys`), so a
cluster spreads the queue over its masters; one user's jobs, held buckets and
retries stay together in one partition. Each partition has its own job
stream, consumer group, retries, held buckets and dead letters.

Workers read jobs through one consumer group per stream (``XREADGROUP``) and
acknowledge a job only after its outcome is recorded, so a worker that dies
mid-job leaves it pending; another worker claims it once it has been idle longer
than the visibility timeout (``XAUTOCLAIM``). An acknowledged entry is deleted in
the same script, so a stream only ever holds jobs waiting or in progress and is
never trimmed (trimming could drop entries still pending).

Besides the stream, in each partition:

- retries wait in a sorted set scored by when they are due;
- held jobs (quiet hours, an exhausted budget) wait in per-(user, channel)
  buckets, released together as one digest job when the bucket's time comes;
- jobs that used up their attempts go to a dead-letter stream with their last
  error, written in the same script that acknowledges them.

**A job's fields** (all strings), as :meth:`DeliveryQueue.enqueue` writes them;
a Lua script may ``XADD`` the same to :meth:`notifier.core.keys.Keys.delivery_jobs`
of the user's partition:

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
from notifier.core.keys import PARTITIONS, Keys
from notifier.stores.connection import is_cluster
from notifier.stores.lua_scripts import load_script
from notifier.stores.script_batch import ScriptBatch

#: The consumer group every worker reads the job streams through.
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


def dead_letter_id(entry_id: str, part: int) -> str:
    """The id of the dead letter at ``entry_id`` in partition ``part``'s dead letters."""
    return f"{entry_id}.{part}"


def parse_dead_letter_id(value: object) -> tuple[str, int] | None:
    """The (entry id, partition) of a :func:`dead_letter_id`; None when malformed."""
    if not isinstance(value, str):
        return None
    entry_id, _, part = value.rpartition(".")
    if parse_notification_id(entry_id) is None or not part.isdigit() \
            or part != str(int(part)) or int(part) >= PARTITIONS:
        return None
    return entry_id, int(part)


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
    #: The partition whose stream it was read from (None: its user's partition).
    partition: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_digest(self) -> bool:
        """Several notifications collapsed into one delivery."""
        return len(self.notifications) > 1

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict, partition: int | None = None) -> Job:
        """Decode a stream entry of ``partition`` (or a stored job's fields)."""
        values = {_text(k): _text(v) for k, v in fields.items()}
        user_id, nid = values["user"], values.get("nid", "")
        decoded = json.loads(values["n"])
        docs = decoded if isinstance(decoded, list) else [decoded]
        notifications = tuple(complete_notification(d, nid, user_id) for d in docs)
        return cls(job_id=values["job"], user_id=user_id, channel=values["channel"],
                   notification_id=nid or notifications[0]["id"],
                   notifications=notifications, attempt=int(values.get("attempt") or 1),
                   not_before=int(values.get("not_before") or 0), entry_id=entry_id,
                   partition=partition,
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

    #: ``<entry id>.<partition>`` (:func:`dead_letter_id`).
    id: str
    job: Job
    error: str
    failed_at: datetime


class DeliveryQueue:
    """The partitioned job streams, their retries, held buckets and dead letters on one
    Redis client."""

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
        self._streams = {keys.delivery_jobs(part): part for part in range(PARTITIONS)}
        # Partitions one XREADGROUP may read together: all of them on one Redis; on a
        # cluster each is a slot of its own, and a command touches one slot.
        parts = tuple(range(PARTITIONS))
        self._read_groups = [(part,) for part in parts] if is_cluster(client) else [parts]
        self._turn = 0

    def partition(self, job: Job) -> int:
        """The partition holding ``job``: the stream it was read from, or its user's."""
        if job.partition is not None:
            return job.partition
        return self.keys.delivery_partition(job.user_id)

    def _by_partition(self, jobs: list[Job]) -> dict[int, list[str]]:
        """The entry ids of ``jobs``, by partition."""
        found: dict[int, list[str]] = {}
        for job in jobs:
            found.setdefault(self.partition(job), []).append(job.entry_id)
        return found

    # -- producing -----------------------------------------------------------
    def enqueue(self, user_id: str, notification: dict[str, Any], channel: str, *,
                not_before: datetime | float | None = None, pipeline=None) -> None:
        """Queue the delivery of ``notification`` (``Notification.to_dict()``) to
        ``user_id`` on ``channel`` in the user's partition; held until ``not_before``
        (aware datetime or epoch seconds) when given. Pass ``pipeline`` to batch it with
        other commands."""
        nid = notification["id"]
        job = Job(job_id=f"{nid}:{channel}", user_id=user_id, channel=channel,
                  notification_id=nid, notifications=(notification,),
                  not_before=epoch_ms(not_before))
        (pipeline or self.client).xadd(
            self.keys.delivery_jobs(self.keys.delivery_partition(user_id)), job.fields())

    def ensure_group(self) -> None:
        """Create every partition's consumer group (and stream) unless they exist. A
        group starts at its stream's beginning, so jobs queued before any worker ran are
        read."""
        for stream in self._streams:
            try:
                self.client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    # -- consuming -----------------------------------------------------------
    def read(self, consumer: str, count: int, block_ms: int | None) -> list[Job]:
        """About ``count`` new jobs for ``consumer`` from any partition (a few more at
        most, one per partition), waiting up to ``block_ms`` for one.

        On one Redis one command reads every partition, and waits on all. On a cluster
        the partitions are read one after another, starting from a different one each
        time; when none has a job, the wait is on that first one alone, so a job in
        another partition waits for the next read (at most ``block_ms``)."""
        groups = self._read_groups
        start, self._turn = self._turn, (self._turn + 1) % len(groups)
        order = groups[start:] + groups[:start]
        if len(order) == 1:
            return self._read(order[0], consumer, count, block_ms)
        jobs: list[Job] = []
        for parts in order:
            jobs += self._read(parts, consumer, count - len(jobs), None)
            if len(jobs) >= count:
                return jobs
        if not jobs and block_ms:
            jobs = self._read(order[0], consumer, count, block_ms)
        return jobs

    def _read(self, parts: tuple[int, ...], consumer: str, count: int,
              block_ms: int | None) -> list[Job]:
        per_stream = max(1, math.ceil(count / len(parts)))
        reply = self.client.xreadgroup(
            GROUP, consumer, {self.keys.delivery_jobs(part): ">" for part in parts},
            count=per_stream, block=block_ms)
        jobs = []
        for stream, entries in reply or []:
            part = self._streams[_text(stream)]
            jobs += [Job.from_fields(_text(entry_id), fields, part)
                     for entry_id, fields in entries if fields]
        return jobs

    def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Job]:
        """Jobs other consumers (or this one, before a reconnect) held longer than
        ``min_idle_ms`` without finishing, now claimed for ``consumer``: up to ``count``,
        partition after partition."""
        jobs: list[Job] = []
        for part in range(PARTITIONS):
            jobs += self._reclaim(part, consumer, min_idle_ms, count - len(jobs))
            if len(jobs) >= count:
                break
        return jobs

    def _reclaim(self, part: int, consumer: str, min_idle_ms: int, count: int) -> list[Job]:
        stream = self.keys.delivery_jobs(part)
        reply = self.client.xautoclaim(stream, GROUP, consumer, min_idle_ms, start_id="0-0",
                                       count=count)
        entries = [(e[0], e[1]) for e in reply[1] if e and e[1]]
        if not entries:
            return []
        first, last = _text(entries[0][0]), _text(entries[-1][0])
        pending = self.client.xpending_range(stream, GROUP, first, last, len(entries) + 100,
                                             consumername=consumer)
        times = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [replace(Job.from_fields(_text(i), f, part), deliveries=times.get(_text(i), 2))
                for i, f in entries]

    def renew(self, consumer: str, jobs: list[Job]) -> int:
        """Keep jobs ``consumer`` is still working on from being reclaimed (their idle
        time starts again); returns how many it still held."""
        if not jobs:
            return 0
        batch = ScriptBatch(self.client)
        for part, entry_ids in self._by_partition(jobs).items():
            batch.script(self._renew, [self.keys.delivery_jobs(part)],
                         [GROUP, consumer, *entry_ids])
        return sum(int(renewed) for renewed in batch.execute())

    def release(self, consumer: str, jobs: list[Job], idle_ms: int) -> None:
        """Give back jobs this consumer holds but will not start (it is stopping): they
        look idle for ``idle_ms`` already, so another worker reclaims them at once."""
        for part, entry_ids in self._by_partition(jobs).items():
            self.client.xclaim(self.keys.delivery_jobs(part), GROUP, consumer, 0, entry_ids,
                               idle=idle_ms, justid=True)

    def promote_due(self, limit: int = 100) -> tuple[int, int | None]:
        """Move due retries and released buckets into their partitions' streams (up to
        ``limit`` of each per partition).

        Returns how many jobs were added and when the next one is due (epoch ms, or None).
        """
        batch = ScriptBatch(self.client)
        for part in range(PARTITIONS):
            batch.script(self._due, [self.keys.delivery_jobs(part),
                                     self.keys.delivery_delayed(part),
                                     self.keys.delivery_held(part),
                                     self.keys.delivery_held_jobs(part)], [limit])
        added, wakes = 0, []
        for count, wake in batch.execute():
            added += int(count)
            if wake:
                wakes.append(int(wake))
        return added, min(wakes, default=None)

    # -- finishing (each takes a batch: a worker writes a batch's outcomes at once) --
    def _finish(self, script: Script, keys: list[str], args: list, batch: ScriptBatch | None):
        """Run ``script`` now, or queue it on ``batch``."""
        if batch is None:
            script(keys=keys, args=args)
        else:
            batch.script(script, keys, args)

    def ack(self, jobs: list[Job], batch: ScriptBatch | None = None) -> None:
        """Acknowledge finished jobs and delete their entries."""
        for part, entry_ids in self._by_partition(jobs).items():
            self._finish(self._ack, [self.keys.delivery_jobs(part)], [GROUP, *entry_ids], batch)

    def hold(self, job: Job, until_ms: int, reason: str,
             batch: ScriptBatch | None = None) -> None:
        """Hold ``job`` with the others of its (user, channel, reason) until ``until_ms``
        and acknowledge its entry; they are released together as one digest."""
        bucket = f"{job.user_id}|{job.channel}|{reason}"
        held = replace(job, not_before=0, attempt=1)
        part = self.partition(job)
        self._finish(self._hold, [self.keys.delivery_jobs(part), self.keys.delivery_held(part),
                                  self.keys.delivery_held_jobs(part)],
                     [GROUP, job.entry_id, bucket, held.to_json(), until_ms], batch)

    def retry(self, job: Job, delay_ms: int, batch: ScriptBatch | None = None) -> None:
        """Queue ``job``'s next attempt after ``delay_ms`` and acknowledge this one."""
        part = self.partition(job)
        self._finish(self._retry, [self.keys.delivery_jobs(part),
                                   self.keys.delivery_delayed(part)],
                     [GROUP, job.entry_id, job.next_attempt().to_json(), delay_ms], batch)

    def dead_letter(self, job: Job, error: str, batch: ScriptBatch | None = None) -> None:
        """Write ``job`` to the dead letters with ``error``, then acknowledge it."""
        fields = {**job.fields(), "error": error[:2000], "failed_at": str(int(
            time.time() * 1000))}
        flat = [part for pair in fields.items() for part in pair]
        part = self.partition(job)
        self._finish(self._dead, [self.keys.delivery_jobs(part), self.keys.delivery_dead(part)],
                     [GROUP, job.entry_id, *flat], batch)

    # -- dead letters ----------------------------------------------------------
    def dead_letters(self, limit: int = 50, before: str | None = None) -> list[DeadLetter]:
        """Dead letters of every partition, newest first (by entry id, then partition),
        older than the dead letter id ``before``."""
        cursor = parse_dead_letter_id(before) if before is not None else None
        if before is not None and cursor is None:
            return []
        batch = ScriptBatch(self.client)
        asked = []
        for part in range(PARTITIONS):
            high = "+"
            if cursor is not None:
                entry_id, cursor_part = cursor
                if part >= cursor_part and parse_notification_id(entry_id) == (0, 0):
                    continue  # nothing is older (and Redis refuses "(0-0" as a bound)
                high = entry_id if part < cursor_part else f"({entry_id}"
            dead = self.keys.delivery_dead(part)
            batch.command(dead, "XREVRANGE", dead, high, "-", "COUNT", limit)
            asked.append(part)
        letters = []
        for part, entries in zip(asked, batch.execute(), strict=True):
            for entry_id, fields in entries:
                values = {_text(k): _text(v) for k, v in fields.items()}
                letters.append(DeadLetter(
                    id=dead_letter_id(_text(entry_id), part),
                    job=Job.from_fields("", values, part), error=values["error"],
                    failed_at=datetime.fromtimestamp(int(values["failed_at"]) / 1000, UTC)))
        letters.sort(key=_dead_letter_order, reverse=True)
        return letters[:limit]

    def dead_letter_count(self) -> int:
        """How many dead letters there are, in every partition."""
        batch = ScriptBatch(self.client)
        for part in range(PARTITIONS):
            batch.command(self.keys.delivery_dead(part), "XLEN", self.keys.delivery_dead(part))
        return sum(batch.execute())

    def retry_dead_letter(self, dead_id: str) -> bool:
        """Queue a dead letter again as a fresh job in its partition (targets that
        accepted it are still skipped); False when there is no such dead letter."""
        found = parse_dead_letter_id(dead_id)
        if found is None:
            return False
        entry_id, part = found
        return bool(self._dead_retry(keys=[self.keys.delivery_jobs(part),
                                           self.keys.delivery_dead(part)], args=[entry_id]))

    def discard_dead_letter(self, dead_id: str) -> bool:
        """Delete a dead letter; False when there is no such dead letter."""
        found = parse_dead_letter_id(dead_id)
        if found is None:
            return False
        entry_id, part = found
        return bool(self.client.xdel(self.keys.delivery_dead(part), entry_id))

    # -- counting ----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Jobs in the streams (waiting or in progress), pending (handed out, not yet
        acknowledged), waiting to be retried, held, and dead letters, summed over the
        partitions."""
        batch = ScriptBatch(self.client)
        for part in range(PARTITIONS):
            jobs = self.keys.delivery_jobs(part)
            batch.command(jobs, "XLEN", jobs)
            batch.command(jobs, "XPENDING", jobs, GROUP)
            batch.command(self.keys.delivery_delayed(part), "ZCARD",
                          self.keys.delivery_delayed(part))
            batch.command(self.keys.delivery_held_jobs(part), "ZCARD",
                          self.keys.delivery_held_jobs(part))
            batch.command(self.keys.delivery_dead(part), "XLEN", self.keys.delivery_dead(part))
        replies = batch.execute(raise_on_error=False)
        totals = dict.fromkeys(("queued", "pending", "retrying", "held", "dead"), 0)
        for start in range(0, len(replies), 5):
            queued, pending, delayed, held, dead = replies[start:start + 5]
            for reply in (queued, delayed, held, dead):
                if isinstance(reply, Exception):
                    raise reply
            if isinstance(pending, redis.ResponseError) and "NOGROUP" in str(pending):
                pending = {"pending": 0}  # no group yet
            elif isinstance(pending, Exception):
                raise pending
            totals["queued"] += queued
            totals["pending"] += pending["pending"]
            totals["retrying"] += delayed
            totals["held"] += held
            totals["dead"] += dead
        return totals

    def oldest_job_ms(self) -> int | None:
        """When the oldest job still in the streams (waiting or in progress) was queued,
        in epoch ms; None when there is none."""
        batch = ScriptBatch(self.client)
        for part in range(PARTITIONS):
            jobs = self.keys.delivery_jobs(part)
            batch.command(jobs, "XRANGE", jobs, "-", "+", "COUNT", 1)
        firsts = [int(_text(entries[0][0]).split("-", 1)[0])
                  for entries in batch.execute() if entries]
        return min(firsts, default=None)


def _dead_letter_order(letter: DeadLetter) -> tuple[int, int, int]:
    entry_id, part = parse_dead_letter_id(letter.id) or ("0-0", 0)
    ms, seq = parse_notification_id(entry_id) or (0, 0)
    return ms, seq, part
