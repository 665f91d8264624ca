"""Scheduled sends: a store in Redis and the runner that fires each item on time, once.

An item is a ``kind`` (naming a registered executor), a JSON ``body`` for it,
and the time it is due. Several runners poll the same Redis (a greenlet in every
gunicorn worker, and any ``notifier scheduler`` processes). A Lua script claims
due items atomically, moving each to a "running" set with a lease deadline, so
exactly one runner gets it; the runner executes it and then forgets it. When a
runner dies mid-run its lease expires and another claims the item again, so
executors must be idempotent by schedule id: the ``notifications`` executor
sends with an idempotency key derived from it, and a re-run stores nothing new.
An executor that raises is retried with backoff and, its attempts used up, kept
as ``failed`` with its error, listed until someone cancels it.

Every key lives in the ``{sched}`` Cluster slot (see ``notifier.core.keys``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask

from notifier.core import metrics
from notifier.core.backoff import Backoff
from notifier.core.clock import iso_utc
from notifier.core.idempotency import IdempotencyConflict
from notifier.core.ids import SCHEDULE_ID_PATTERN
from notifier.core.keys import Keys
from notifier.stores.lua_scripts import load_script
from notifier.stores.worker_stats import SCHEDULER_BEAT, WorkerReports

log = logging.getLogger(__name__)

#: An executor: runs one due item's ``body``; ``schedule_id`` makes it idempotent.
Executor = Callable[[dict[str, Any], str], None]

#: Names of kinds: short lowercase slugs.
KIND_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
_KIND = re.compile(KIND_PATTERN)

#: Listing cursor: the index member of the last item shown.
#: A listing cursor (the ``next`` of a page): ``<send_at ms>:<schedule id>``.
CURSOR_PATTERN = r"^[0-9]{13}:" + SCHEDULE_ID_PATTERN[1:]
_CURSOR = re.compile(CURSOR_PATTERN)

#: Items a runner claims at a time; small, so simultaneous items spread over runners.
CLAIM_BATCH = 20

#: Longest wait between two retries of a failing item, in seconds.
MAX_RETRY_DELAY = 300.0

#: Longest wait between reconnect attempts while Redis is unreachable, in seconds.
MAX_OUTAGE_BACKOFF = 5.0

_executors: dict[str, Executor] = {}

#: Kinds that are not sends (a snoozed notification's return): listed only when asked
#: for by kind.
HIDDEN_KINDS = frozenset({"unsnooze"})


def register(kind: str, fn: Executor) -> Executor:
    """Have ``fn(body, schedule_id)`` run items of ``kind`` when they are due.

    ``fn`` runs inside an app context (it may call ``backend()``). It can run
    more than once for one item, after a crash or a failed attempt, so it must
    be idempotent by ``schedule_id``. Raising makes the attempt fail.
    """
    if not _KIND.fullmatch(kind):
        raise ValueError(f"kind must match {KIND_PATTERN}")
    if _executors.get(kind, fn) is not fn:
        raise ValueError(f"kind {kind!r} already has an executor")
    _executors[kind] = fn
    return fn


def executor_for(kind: str) -> Executor | None:
    """The executor registered for ``kind``."""
    return _executors.get(kind)


def retry_delay(attempt: int, base: float = 1.0) -> float:
    """Seconds to wait after failed attempt number ``attempt``: base, 2x, 4x ... capped."""
    return min(base * 2 ** (attempt - 1), MAX_RETRY_DELAY)


def to_ms(moment: datetime) -> int:
    """``moment`` in epoch milliseconds, rounded up: an item never fires early."""
    return math.ceil(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class ScheduledItem:
    """A scheduled send as the API and the admin page show it."""

    id: str
    kind: str
    send_at: datetime
    created_at: datetime
    created_by: str
    #: What it sends, for listings (e.g. the notification's title).
    title: str
    #: How many users it goes to; None when not known ahead (a broadcast).
    recipients: int | None
    #: scheduled | running | retrying (an attempt failed) | failed (gave up).
    state: str = "scheduled"
    attempts: int = 0
    error: str | None = None
    #: When a retrying item is tried next.
    retry_at: datetime | None = None
    #: True when an idempotent repeat returned an existing schedule.
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape."""
        return {
            "id": self.id, "kind": self.kind, "state": self.state,
            "send_at": iso_utc(self.send_at), "created_at": iso_utc(self.created_at),
            "created_by": self.created_by, "title": self.title,
            "recipients": self.recipients, "attempts": self.attempts, "error": self.error,
            "retry_at": iso_utc(self.retry_at) if self.retry_at else None,
        }


@dataclass(frozen=True)
class Claim:
    """An item a runner holds until it finishes or its lease expires."""

    id: str
    kind: str
    body: dict[str, Any]
    attempt: int
    send_at: datetime


class Scheduler:
    """The store of scheduled items on one Redis client under one key scheme."""

    def __init__(self, client: redis.Redis, keys: Keys, *, lease_seconds: float = 30,
                 max_attempts: int = 5, idempotency_ttl: int = 86400,
                 retry_base: float = 1.0):
        self.client = client
        self.keys = keys
        self.lease_ms = int(lease_seconds * 1000)
        self.max_attempts = max_attempts
        self.idempotency_ttl = idempotency_ttl
        self.retry_base = retry_base
        self._add = load_script(client, "sched_add")
        self._claim = load_script(client, "sched_claim")
        self._finish = load_script(client, "sched_finish")
        self._fail = load_script(client, "sched_fail")
        self._cancel = load_script(client, "sched_cancel")
        self._read = load_script(client, "sched_read")

    # -- scheduling and cancelling -----------------------------------------
    def schedule(
        self,
        kind: str,
        body: dict[str, Any],
        send_at: datetime,
        *,
        created_by: str,
        title: str = "",
        recipients: int | None = None,
        idempotency: tuple[str, str, str] | None = None,
    ) -> ScheduledItem:
        """Store ``body`` to be run by ``kind``'s executor at ``send_at`` (aware).

        ``idempotency`` is ``(scope, key, fingerprint)``: a repeat within the
        TTL returns the first schedule (``replayed``), a different request
        under the same key raises :class:`IdempotencyConflict`.
        """
        if kind not in _executors:
            raise ValueError(f"no executor registered for kind {kind!r}")
        schedule_id = "sch_" + secrets.token_hex(12)
        due_ms = to_ms(send_at)
        created_at = datetime.now(UTC)
        position = f"{due_ms:013d}:{schedule_id}"
        meta = {"kind": kind, "send_at": due_ms, "created_at": to_ms(created_at),
                "created_by": created_by, "title": title, "recipients": recipients,
                "position": position}
        keys = [self.keys.sched_due(), self.keys.sched_index(), self.keys.sched_meta(),
                self.keys.sched_body()]
        if idempotency:
            keys.append(self.keys.sched_idempotency(idempotency[0], idempotency[1]))
        result = self._add(keys=keys, args=[
            schedule_id, due_ms, position, json.dumps(meta), 1 if idempotency else 0,
            self.idempotency_ttl, idempotency[2] if idempotency else "",
            json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        ])
        replayed = result[0] == b"duplicate"
        if replayed:
            fingerprint, _, schedule_id = result[1].decode().partition("\n")
            if idempotency is None or fingerprint != idempotency[2]:
                raise IdempotencyConflict
        return ScheduledItem(
            id=schedule_id, kind=kind, send_at=from_ms(due_ms), created_at=created_at,
            created_by=created_by, title=title, recipients=recipients, replayed=replayed)

    def cancel(self, schedule_id: str) -> bool:
        """Cancel an item that has not started (or that failed); False otherwise."""
        keys = [self.keys.sched_due(), self.keys.sched_failed(), self.keys.sched_index(),
                self.keys.sched_meta(), self.keys.sched_body(), self.keys.sched_attempts(),
                self.keys.sched_errors()]
        return bool(self._cancel(keys=keys, args=[schedule_id]))

    # -- reading -------------------------------------------------------------
    def get(self, schedule_id: str) -> ScheduledItem | None:
        """The item, or None when unknown, already sent or cancelled."""
        found = self._describe([schedule_id])
        return found[0] if found else None

    def list(self, *, limit: int = 50, after: str | None = None,
             kind: str | None = None) -> tuple[list[ScheduledItem], str | None]:
        """Up to ``limit`` items, soonest ``send_at`` first, after the cursor ``after``.

        Returns the page and the next page's cursor (None at the end). Failed
        items keep their place by ``send_at``, so they come first.
        """
        if after is not None and not is_cursor(after):
            raise ValueError("malformed cursor")
        found: list[ScheduledItem] = []
        bound = f"({after}" if after else "-"
        chunk = max(limit + 1, 50)
        while len(found) <= limit:
            members = [m.decode() for m in self.client.zrangebylex(
                self.keys.sched_index(), bound, "+", start=0, num=chunk)]
            ids = [m.partition(":")[2] for m in members]
            found += [i for i in self._describe(ids)
                      if i.kind == kind or (kind is None and i.kind not in HIDDEN_KINDS)]
            if len(members) < chunk:
                break
            bound = f"({members[-1]}"
        if len(found) > limit:
            last = found[limit - 1]
            return found[:limit], f"{to_ms(last.send_at):013d}:{last.id}"
        return found, None

    def _describe(self, ids: list[str]) -> list[ScheduledItem]:
        if not ids:
            return []
        keys = [self.keys.sched_due(), self.keys.sched_running(), self.keys.sched_failed(),
                self.keys.sched_meta(), self.keys.sched_attempts(), self.keys.sched_errors()]
        flat = self._read(keys=keys, args=ids)
        items = []
        for i, schedule_id in enumerate(ids):
            meta, attempts, error, state, due = flat[i * 5:i * 5 + 5]
            if meta is None:  # sent or cancelled since the index was read
                continue
            doc = json.loads(meta)
            state = state.decode()
            items.append(ScheduledItem(
                id=schedule_id, kind=doc["kind"], send_at=from_ms(doc["send_at"]),
                created_at=from_ms(doc["created_at"]), created_by=doc["created_by"],
                title=doc["title"], recipients=doc["recipients"], state=state,
                attempts=int(attempts), error=error.decode() or None,
                retry_at=from_ms(int(due)) if state == "retrying" and due else None,
            ))
        return items

    # -- running ---------------------------------------------------------------
    def claim(self, limit: int = CLAIM_BATCH) -> tuple[list[Claim], float | None]:
        """Claim up to ``limit`` due items for this process, each under a lease.

        Returns the claims and the seconds until the next item is due or lease
        expires (None when nothing is waiting).
        """
        keys = [self.keys.sched_due(), self.keys.sched_running(), self.keys.sched_failed(),
                self.keys.sched_meta(), self.keys.sched_body(), self.keys.sched_attempts(),
                self.keys.sched_errors()]
        now, wake, *flat = self._claim(keys=keys, args=[self.lease_ms, limit,
                                                        self.max_attempts])
        claims = []
        for i in range(0, len(flat), 4):
            schedule_id, attempt, meta, body = flat[i:i + 4]
            doc = json.loads(meta)
            claims.append(Claim(id=schedule_id.decode(), kind=doc["kind"],
                                body=json.loads(body), attempt=int(attempt),
                                send_at=from_ms(doc["send_at"])))
        wait = max(0.0, (int(wake) - int(now)) / 1000) if wake else None
        return claims, wait

    def finish(self, schedule_id: str) -> bool:
        """Forget an item that ran; False when it was gone already."""
        keys = [self.keys.sched_due(), self.keys.sched_running(), self.keys.sched_failed(),
                self.keys.sched_index(), self.keys.sched_meta(), self.keys.sched_body(),
                self.keys.sched_attempts(), self.keys.sched_errors()]
        return bool(self._finish(keys=keys, args=[schedule_id]))

    def fail(self, claim: Claim, error: str) -> str:
        """Record that ``claim``'s attempt failed: ``retrying``, ``failed`` or ``stale``."""
        keys = [self.keys.sched_due(), self.keys.sched_running(), self.keys.sched_failed(),
                self.keys.sched_attempts(), self.keys.sched_errors()]
        delay_ms = int(retry_delay(claim.attempt, self.retry_base) * 1000)
        return self._fail(keys=keys, args=[claim.id, claim.attempt, error[:1000],
                                           self.max_attempts, delay_ms]).decode()


def is_cursor(value: object) -> bool:
    """Whether ``value`` is a listing cursor (the ``next`` of a page)."""
    return isinstance(value, str) and _CURSOR.fullmatch(value) is not None


class Runner:
    """Claims due items and runs their executors, in a loop, for one app."""

    def __init__(self, app: Flask, *, batch: int = CLAIM_BATCH, store: Scheduler | None = None,
                 in_worker: bool = False):
        self.app = app
        self.batch = batch
        self.poll = float(app.config["SCHEDULER_POLL"])
        self.store: Scheduler = store or app.extensions["notifier"].scheduler
        #: Where the runner reports that it is alive, for ``/readyz`` and the console.
        self.reports: WorkerReports = app.extensions["notifier"].schedulers
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.in_worker = in_worker
        self.ran = 0

    def run_due(self) -> float:
        """Claim and run what is due now; return the seconds to wait before looking again."""
        claims, wait = self.store.claim(self.batch)
        for claim in claims:
            self._execute(claim)
        if len(claims) == self.batch:
            return 0.0
        return self.poll if wait is None else min(wait, self.poll)

    def _execute(self, claim: Claim) -> None:
        fn = executor_for(claim.kind)
        try:
            if fn is None:
                raise LookupError(f"no executor registered for kind {claim.kind!r}")
            with self.app.app_context():
                fn(claim.body, claim.id)
        except Exception as exc:  # an executor's failure must not stop the runner
            state = self.store.fail(claim, f"{type(exc).__name__}: {exc}")
            level = logging.ERROR if state == "failed" else logging.WARNING
            log.log(level, "scheduled %s %s, attempt %d, failed (now %s)", claim.kind,
                    claim.id, claim.attempt, state, exc_info=True)
            return
        self.store.finish(claim.id)
        self.ran += 1
        late = time.time() - claim.send_at.timestamp()
        metrics.scheduler_lag.observe(max(0.0, late))
        log.info("ran scheduled %s %s, %.3f s after its time", claim.kind, claim.id, late)

    def run(self, stopping: Callable[[], bool], sleep: Callable[[float], None] = time.sleep):
        """Run until ``stopping()``; waits at most the poll interval between looks.

        While Redis is unreachable it backs off (capped, jittered) and keeps trying.
        """
        log.info("scheduler running (polling every %.2f s)", self.poll)
        outage = Backoff(self.poll, MAX_OUTAGE_BACKOFF)
        next_beat = 0.0
        while not stopping():
            try:
                wait = self.run_due()
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + SCHEDULER_BEAT
                outage.reset()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                wait = outage.next()
                log.warning("scheduler: Redis unreachable (%s); retrying in %.1f s", exc,
                            outage.delay)
            except Exception:  # a bug or a Redis error reply: log it, keep the loop alive
                log.exception("scheduler: unexpected error; retrying in %.1f s",
                              MAX_OUTAGE_BACKOFF)
                wait = MAX_OUTAGE_BACKOFF
            if wait > 0:
                sleep(wait)
        try:
            self.reports.remove(self.name)
        except redis.RedisError as exc:
            log.info("scheduler: could not withdraw its report: %s", exc)
        log.info("scheduler stopped")

    def _beat(self) -> None:
        """Report that this scheduler is alive (and how many items it ran)."""
        self.reports.report(self.name, {"pid": os.getpid(), "host": socket.gethostname(),
                                        "in_worker": self.in_worker, "ran": self.ran})


def start_in_worker(app: Flask, stopping: Callable[[], bool]):
    """Run a :class:`Runner` as a greenlet of this gevent worker; returns the greenlet."""
    import gevent

    runner = Runner(app, in_worker=True)
    return gevent.spawn(runner.run, stopping, gevent.sleep)


class StopSignal:
    """Set by SIGTERM or SIGINT: the runner finishes what it holds, then returns.

    The handler only sets a flag (no I/O in a signal handler) and restores the
    default action, so a second signal ends the process at once.
    """

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        self.received: int | None = None
        for number in signals:
            signal.signal(number, self._handle)

    def _handle(self, number, frame) -> None:
        self.received = number
        signal.signal(number, signal.SIG_DFL)

    def __call__(self) -> bool:
        return self.received is not None


def fingerprint(body: dict[str, Any]) -> str:
    """A stable digest of a body, for idempotency records of its execution."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
