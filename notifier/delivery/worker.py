"""The delivery worker: reads jobs from the queue and delivers them through the adapters.

Run by ``notifier worker`` (``make worker``), a process of its own beside the
web server; run as many as you like. Each reads every partition of the queue
and works through batches of jobs: one round trip reads a batch (on one Redis; a
cluster's partitions are read one by one), one looks up targets, one the delivery records, one
takes room in the budgets; the sends run concurrently on a pool of greenlets;
one round trip writes every outcome (records and timeline first, then the
acknowledgement, a retry, a hold or a dead letter).

For every job: held until ``not_before`` (quiet hours); targets that accepted
it before (a retry, a reclaimed job) are skipped; over the user's budget it is
held until the window reopens; each remaining target gets the message; a
transient failure is retried after the next delay of the schedule (plus up to
20 % jitter, or the provider's ``Retry-After`` when longer) and, the schedule
used up, the job is dead-lettered with its last error, as it is at once for a
permanent failure. A target that is gone is removed.

Stopping: the first SIGTERM (or Ctrl-C) lets the jobs being sent finish and
gives the batch's unstarted ones back for other workers to take at once; a
second one ends the process at once (its jobs are reclaimed after the
visibility timeout). The signal handler only sets a flag.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis
from flask import Flask

from notifier.core import metrics
from notifier.core.backoff import Backoff
from notifier.core.runtime import new_worker_id, require_gevent
from notifier.delivery.budgets import Budgets
from notifier.delivery.channels.registry import Registry, build_adapters
from notifier.delivery.queue import DeliveryQueue, Job
from notifier.delivery.records import Deliveries, Event
from notifier.model.channels import Message, Outcome, Target
from notifier.stores.connection import connect
from notifier.stores.preferences import PreferenceStore
from notifier.stores.script_batch import ScriptBatch
from notifier.stores.worker_stats import DELIVERY_WORKER_BEAT, WorkerReports

log = logging.getLogger(__name__)

#: Upward jitter on each retry delay: up to this fraction more.
RETRY_JITTER = 0.2

#: Longest wait between reconnect attempts while Redis is unreachable, in seconds.
MAX_OUTAGE_BACKOFF = 5.0

#: Batches a worker works on at once (one's round trips overlap another's sends).
BATCHES_IN_FLIGHT = 2

#: Seconds between the worker's progress lines in its log.
REPORT_EVERY = 30.0


def retry_delay(delays: tuple[float, ...], attempt: int, retry_after: float | None = None,
                rand: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait after failed attempt ``attempt``: the schedule's delay plus up
    to 20 % jitter, at least the provider's ``retry_after``; None when it is used up."""
    if attempt > len(delays):
        return None
    delay = delays[attempt - 1] * (1 + RETRY_JITTER * rand())
    return max(delay, retry_after or 0.0)


@dataclass
class Plan:
    """What to do with one job of a batch."""

    job: Job
    #: Targets still to send to, with their adapters.
    sends: list[tuple[Target, object]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: (target, outcome) of each send made.
    outcomes: list[tuple[Target, Outcome]] = field(default_factory=list)
    #: "send", "ack", "hold", "dead", "release".
    action: str = "send"
    hold_until: int = 0
    hold_reason: str = ""
    retry_in_ms: int = 0
    error: str = ""


@dataclass
class Totals:
    """What this worker did since it started (for its log and the benchmark)."""

    jobs: int = 0
    accepted: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0
    skipped: int = 0


class DeliveryWorker:
    """One consumer of the delivery queue."""

    def __init__(self, *, queue: DeliveryQueue, deliveries: Deliveries, budgets: Budgets,
                 registry: Registry, consumer: str | None = None, batch: int = 100,
                 concurrency: int = 64, visibility: float = 30.0, poll: float = 0.25,
                 retry_delays: tuple[float, ...] = (1, 2, 4, 8, 16), max_deliveries: int = 5,
                 reports: WorkerReports | None = None):
        self.queue = queue
        self.deliveries = deliveries
        self.budgets = budgets
        self.registry = registry
        self.consumer = consumer or new_worker_id()
        self.batch = batch
        self.concurrency = concurrency
        self.visibility_ms = int(visibility * 1000)
        self.poll = poll
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.max_deliveries = max_deliveries
        self.totals = Totals()
        #: Where the worker reports that it is alive, and its totals, for the console.
        self.reports = reports
        self._pool = None

    # -- one batch ---------------------------------------------------------------
    def process(self, jobs: list[Job], stopping: Callable[[], bool] = lambda: False) -> None:
        """Deliver ``jobs`` (read or reclaimed by this consumer) and record every outcome."""
        now_ms = int(time.time() * 1000)
        plans = [Plan(job) for job in jobs]
        live = []
        for plan in plans:
            job = plan.job
            if job.deliveries > self.max_deliveries:
                plan.action, plan.error = "dead", (
                    f"handed to a worker {job.deliveries} times without finishing (each "
                    "stopped while holding it)")
            elif job.not_before > now_ms:
                plan.action, plan.hold_until, plan.hold_reason = "hold", job.not_before, "quiet"
                plan.events.append(Event(job.channel, "held", job.attempt,
                                         detail="quiet hours", digest=len(job.notifications)))
            else:
                live.append(plan)
        self._plan_targets(live)
        self._check_budgets([p for p in live if p.action == "send"])
        self._send([p for p in live if p.action == "send"], stopping)
        self._finish(plans)

    def _plan_targets(self, plans: list[Plan]) -> None:
        if not plans:
            return
        jobs = [p.job for p in plans]
        targets = self.registry.targets([(j.user_id, j.channel) for j in jobs])
        accepted = self.deliveries.accepted(jobs)
        for plan, found, done in zip(plans, targets, accepted, strict=True):
            job = plan.job
            k = len(job.notifications)
            if not found:
                plan.action = "ack"
                plan.events.append(Event(job.channel, "skipped", job.attempt,
                                         detail=f"the user has no {job.channel} target",
                                         digest=k))
                continue
            for target in found:
                adapter = self.registry.adapter(target.kind)
                if target.id in done:
                    continue
                if adapter is None:
                    plan.events.append(Event(job.channel, "skipped", job.attempt, target.id,
                                             target.kind, f"{target.kind} is not configured",
                                             digest=k))
                    continue
                plan.sends.append((target, adapter))
            if not plan.sends:
                plan.action = "ack"
                if done and not plan.events:
                    plan.events.append(Event(job.channel, "done-before", job.attempt,
                                             detail="every target accepted it before",
                                             digest=k))

    def _check_budgets(self, plans: list[Plan]) -> None:
        # A retry was counted when first sent: only first attempts take room.
        checked = [p for p in plans if p.job.attempt == 1 and self.budgets.applies(p.job)]
        if not checked:
            return
        batch = ScriptBatch(self.queue.client)
        for plan in checked:
            self.budgets.check(plan.job, batch=batch)
        for plan, (fits, reopen) in zip(checked, batch.execute(), strict=True):
            if not int(fits):
                job = plan.job
                plan.action, plan.hold_until, plan.hold_reason = "hold", int(reopen), "budget"
                plan.sends = []
                plan.events.append(Event(job.channel, "held", job.attempt,
                                         detail="over the user's budget",
                                         digest=len(job.notifications)))

    def _send(self, plans: list[Plan], stopping: Callable[[], bool]) -> None:
        if not plans:
            return
        import gevent
        from gevent.pool import Pool

        if self._pool is None:
            self._pool = Pool(self.concurrency)
        renewer = gevent.spawn(self._renew, [p.job for p in plans])
        try:
            for plan, outcomes in zip(plans, self._pool.imap(
                    lambda p: self._send_one(p, stopping), plans), strict=True):
                if outcomes is None:
                    plan.action = "release"
                else:
                    plan.outcomes = outcomes
        finally:
            renewer.kill()

    def _renew(self, jobs: list[Job]) -> None:
        """While the batch's sends run, keep its jobs from being reclaimed by others."""
        import gevent

        while True:
            gevent.sleep(self.visibility_ms / 3000)
            try:
                self.queue.renew(self.consumer, jobs)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("could not renew the batch's jobs: %s", exc)

    def _send_one(self, plan: Plan, stopping: Callable[[], bool]):
        if stopping():
            return None
        job = plan.job
        message = Message(user_id=job.user_id, channel=job.channel,
                          notifications=job.notifications)
        outcomes = []
        for target, adapter in plan.sends:
            try:
                outcome = adapter.send(message, target)
            except Exception as exc:  # an adapter's bug must not stop the worker
                log.exception("adapter %s raised for job %s", target.kind, job.job_id)
                outcome = Outcome("retry", f"{type(exc).__name__}: {exc}")
            outcomes.append((target, outcome))
        return outcomes

    def _decide(self, plan: Plan) -> None:
        """Turn a sent plan's outcomes into events and its next step."""
        job = plan.job
        k = len(job.notifications)
        retry_after = None
        errors = []
        retry = False
        for target, outcome in plan.outcomes:
            plan.events.append(Event(job.channel, outcome.status, job.attempt, target.id,
                                     target.kind, outcome.detail, digest=k))
            metrics.delivery_attempt(job.channel, outcome.status).inc()
            if outcome.status == "accepted":
                self.totals.accepted += 1
            elif outcome.status == "gone":
                self.registry.remove(job.user_id, target)
            else:
                errors.append(f"{target.id}: {outcome.detail}" if len(plan.outcomes) > 1
                              else outcome.detail)
                if outcome.status == "retry":
                    retry = True
                    if outcome.retry_after is not None:
                        retry_after = max(retry_after or 0.0, outcome.retry_after)
        plan.action = "ack"
        if retry:
            delay = retry_delay(self.retry_delays, job.attempt, retry_after)
            if delay is not None:
                plan.action, plan.retry_in_ms = "retry", int(delay * 1000)
                return
        if errors:
            plan.action, plan.error = "dead", "; ".join(errors)

    def _finish(self, plans: list[Plan]) -> None:
        acks: list[Job] = []
        released: list[Job] = []
        for plan in plans:
            if plan.action == "send":
                self._decide(plan)
        pipe_ops: list[Callable] = []
        for plan in plans:
            job = plan.job
            self.totals.jobs += plan.action != "release"
            if plan.action != "release":
                metrics.delivery_job(job.channel, plan.action).inc()
            for target, outcome in plan.outcomes:
                if outcome.status == "accepted":
                    pipe_ops.append(lambda p, j=job, t=target.id, d=outcome.detail:
                                    self.deliveries.record_accepted(p, j, t, d))
            if plan.action == "dead":
                plan.events.append(Event(job.channel, "dead", job.attempt, detail=plan.error,
                                         digest=len(job.notifications)))
            if plan.action == "retry":
                self.totals.retried += 1
            if plan.events:
                pipe_ops.append(lambda p, j=job, e=plan.events: self.deliveries.add(p, j, e))
            if plan.action == "ack":
                self.totals.skipped += not plan.outcomes
                acks.append(job)
            elif plan.action == "release":
                released.append(job)
            elif plan.action == "hold":
                self.totals.held += 1
                pipe_ops.append(lambda p, j=job, u=plan.hold_until, r=plan.hold_reason:
                                self.queue.hold(j, u, r, batch=p))
            elif plan.action == "retry":
                pipe_ops.append(lambda p, j=job, d=plan.retry_in_ms:
                                self.queue.retry(j, d, batch=p))
            elif plan.action == "dead":
                self.totals.dead += 1
                log.warning("job %s of %s dead-lettered after attempt %d: %s", job.job_id,
                            job.user_id, job.attempt, plan.error)
                pipe_ops.append(lambda p, j=job, e=plan.error:
                                self.queue.dead_letter(j, e, batch=p))
        if acks:
            pipe_ops.append(lambda p: self.queue.ack(acks, batch=p))
        self._write(pipe_ops)
        if released:
            self.queue.release(self.consumer, released, self.visibility_ms)

    def _write(self, ops: list[Callable]) -> None:
        """Run ``ops`` on one batch; while Redis is unreachable, try again (the sends
        happened: their records must be written, or a retry would send them again)."""
        if not ops:
            return
        outage = Backoff(0.1, MAX_OUTAGE_BACKOFF)
        while True:
            batch = ScriptBatch(self.queue.client)
            for op in ops:
                op(batch)
            try:
                batch.execute()
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                wait = outage.next()
                log.warning("could not record outcomes (%s); retrying in %.1f s", exc,
                            outage.delay)
                time.sleep(wait)

    # -- the loop ----------------------------------------------------------------
    def run(self, stopping: Callable[[], bool]) -> None:
        """Deliver until ``stopping()``; while Redis is unreachable, back off and retry.

        Up to ``BATCHES_IN_FLIGHT`` batches are worked on at once, so one batch's
        Redis round trips and CPU overlap another's sends.
        """
        from gevent.pool import Pool

        log.info("delivery worker %s running (batch %d, %d concurrent sends, visibility "
                 "%.1f s)", self.consumer, self.batch, self.concurrency,
                 self.visibility_ms / 1000)
        batches = Pool(BATCHES_IN_FLIGHT)
        outage = Backoff(0.1, MAX_OUTAGE_BACKOFF)
        next_due = next_reclaim = next_report = next_beat = 0.0
        grouped = False
        while not stopping():
            try:
                if not grouped:
                    self.queue.ensure_group()
                    grouped = True
                now = time.monotonic()
                if now >= next_due:
                    _, wake = self.queue.promote_due(self.batch)
                    next_due = now + self.poll
                    if wake is not None:
                        soon = (wake - time.time() * 1000) / 1000
                        next_due = now + max(0.0, min(self.poll, soon))
                batches.wait_available()
                jobs = []
                if now >= next_reclaim:
                    jobs = self.queue.reclaim(self.consumer, self.visibility_ms, self.batch)
                    next_reclaim = now + max(0.1, self.visibility_ms / 4000)
                if not jobs:
                    wait = max(1, int(min(self.poll, next_due - time.monotonic()) * 1000))
                    jobs = self.queue.read(self.consumer, self.batch, wait)
                if jobs:
                    batches.spawn(self._process_batch, jobs, stopping)
                outage.reset()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                wait = outage.next()
                log.warning("Redis unreachable (%s); retrying in %.1f s", exc, outage.delay)
                _sleep_unless(stopping, wait)
                grouped = False
            except redis.ResponseError as exc:  # e.g. NOGROUP: the stream was deleted
                log.warning("Redis refused a command (%s); starting over in 1 s", exc)
                _sleep_unless(stopping, 1.0)
                grouped = False
            if time.monotonic() >= next_report:
                if next_report:
                    log.info("delivered so far: %s", self.totals)
                next_report = time.monotonic() + REPORT_EVERY
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self._beat()
        batches.join()
        if self.reports is not None:
            with contextlib.suppress(redis.RedisError):
                self.reports.remove(self.consumer)
        log.info("delivery worker %s stopped: %s", self.consumer, self.totals)

    def _beat(self) -> float:
        """Report that this worker is alive, with its totals; seconds until the next."""
        if self.reports is None:
            return REPORT_EVERY
        try:
            self.reports.report(self.consumer, {"pid": os.getpid(), "host": socket.gethostname(),
                                                **asdict(self.totals)})
        except redis.RedisError as exc:
            log.info("could not report to the console: %s", exc)
        return DELIVERY_WORKER_BEAT

    def _process_batch(self, jobs: list[Job], stopping: Callable[[], bool]) -> None:
        """:meth:`process` in a greenlet of its own: a failure leaves the batch's jobs
        pending, and they are reclaimed after the visibility timeout."""
        try:
            self.process(jobs, stopping)
        except redis.RedisError as exc:
            log.warning("a batch of %d jobs stopped half-way (%s); they will be "
                        "reclaimed", len(jobs), exc)


def _sleep_unless(stopping: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stopping() and time.monotonic() < deadline:
        time.sleep(min(0.1, deadline - time.monotonic()))


def parse_delays(value) -> tuple[float, ...]:
    """``DELIVERY_RETRY_DELAYS`` as seconds: a list, or ``"1,2,4"``; ValueError if not."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        delays = tuple(float(part) for part in parts)
    except (TypeError, ValueError):
        raise ValueError(f"DELIVERY_RETRY_DELAYS must be a list of seconds, not {value!r}") \
            from None
    if any(delay < 0 for delay in delays):
        raise ValueError("DELIVERY_RETRY_DELAYS cannot hold a negative delay")
    return delays


def build_worker(app: Flask, **overrides) -> DeliveryWorker:
    """A worker for ``app``'s Redis and settings, with the configured adapters.

    It has a connection pool of its own: the blocking read, the batches in flight
    and their renewals each hold a connection at times.
    """
    from notifier.backend import backend

    with app.app_context():
        state = backend()
    config = app.config
    keys = state.keys
    client = connect(state.redis_url, pool_size=2 * BATCHES_IN_FLIGHT + 2, socket_timeout=10,
                     client_name=f"notifier-worker:{os.getpid()}")
    preferences = PreferenceStore(client, keys, known_types_max=config["KNOWN_TYPES_MAX"])
    registry = Registry(preferences, build_adapters(config, app.instance_path),
                        devices=state.devices)
    settings = dict(
        queue=DeliveryQueue(client, keys),
        deliveries=Deliveries(client, keys, ttl_seconds=config["DELIVERY_RECORD_TTL"]),
        budgets=Budgets.from_config(client, keys, config), registry=registry,
        batch=int(config["DELIVERY_BATCH"]), concurrency=int(config["DELIVERY_CONCURRENCY"]),
        visibility=float(config["DELIVERY_VISIBILITY"]), poll=float(config["DELIVERY_POLL"]),
        retry_delays=parse_delays(config["DELIVERY_RETRY_DELAYS"]),
        max_deliveries=int(config["DELIVERY_MAX_DELIVERIES"]),
        reports=state.delivery_workers)
    settings.update(overrides)
    return DeliveryWorker(**settings)


def main() -> None:
    """The ``notifier worker`` process (entered through worker.py, after patch_all)."""
    require_gevent("the worker's sends would not overlap",
                   "Start the worker with `notifier worker` (worker.py patches first).")
    from notifier import create_app
    from notifier.bootstrap import require_known_format
    from notifier.core.log_format import configure_process_logging, log_format_from_env
    from notifier.scheduling.scheduler import StopSignal
    from notifier.stores.data_format import DataFormatError

    configure_process_logging(log_format_from_env())
    app = create_app()
    embedded = app.extensions["notifier"].embedded
    if embedded is not None and embedded.owner:
        # It would own the embedded Redis and shut it down on exit, under the server.
        raise SystemExit("notifier worker: the embedded Redis is not running: start the "
                         "server first (make run), or set REDIS_URL")
    with app.app_context():
        try:
            require_known_format(app.extensions["notifier"])
        except DataFormatError as exc:
            raise SystemExit(f"notifier worker: cannot start: {exc}") from None
    stop = StopSignal()
    worker = build_worker(app)
    try:
        worker.run(stop)
    finally:
        for adapter in worker.registry.adapters.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                close()
