"""Real ``notifier worker`` processes on a real redis-server, sending to the real local
SMS provider: a worker killed mid-job, retries and dead letters, graceful and
immediate stops, and 10,000 jobs with random provider failures."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from notifier import create_app
from notifier.core.keys import Keys
from notifier.delivery.queue import GROUP, DeliveryQueue

from conftest import ARTIFACTS, app_config, sign_in
from peers.sms_provider import Answer, SmsProvider

NOTIFIER = str(Path(sys.executable).parent / "notifier")
#: Prefix of these tests' keys (the session's live server uses another).
PREFIX = "w"
KEYS = Keys(PREFIX)


def jobs_of(user_id: str) -> str:
    """The job stream of the user's partition."""
    return KEYS.delivery_jobs(KEYS.delivery_partition(user_id))


def eventually(condition, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class WorkerProcess:
    """``notifier worker`` in a subprocess, its log in test-artifacts/."""

    count = 0

    def __init__(self, redis_url: str, tmp: Path, peer: SmsProvider, **env: str):
        WorkerProcess.count += 1
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"worker-{os.getpid()}-{WorkerProcess.count}.log"
        self.process = subprocess.Popen(
            [NOTIFIER, "worker"], stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={
                **os.environ, "REDIS_URL": redis_url, "NOTIFIER_KEY_PREFIX": PREFIX,
                "NOTIFIER_BOOTSTRAP_ADMIN": "false", "NOTIFIER_INSTANCE_PATH": str(tmp),
                "SECRET_KEY": "test", "NOTIFIER_DELIVERY_VISIBILITY": "2",
                "NOTIFIER_DELIVERY_RETRY_DELAYS": "[0.2, 0.4, 0.8]",
                "NOTIFIER_DELIVERY_POLL": "0.05", "NOTIFIER_BUDGET_SMS": "",
                **peer.env(), **env})
        self.pid = self.process.pid

    def wait_ready(self) -> WorkerProcess:
        assert eventually(lambda: "delivery worker" in self.log.read_text()
                          or self.process.poll() is not None, timeout=30)
        assert self.process.poll() is None, self.log.read_text()
        return self

    def send(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def peer():
    provider = SmsProvider()
    yield provider
    provider.stop()


@pytest.fixture
def queue(redis_client) -> DeliveryQueue:
    return DeliveryQueue(redis_client, KEYS)


@pytest.fixture
def start(redis_server, tmp_path, peer):
    """Start worker processes; every one still running is stopped afterwards."""
    started: list[WorkerProcess] = []

    def make(**env) -> WorkerProcess:
        process = WorkerProcess(redis_server.url, tmp_path, peer, **env).wait_ready()
        started.append(process)
        return process

    yield make
    for process in started:
        if process.process.poll() is None:
            process.stop(signal.SIGKILL)


numbers = itertools.count(1)


def phone_of(client, user_id: str) -> str:
    phone = f"+1555{next(numbers):07d}"
    client.hset(KEYS.preferences(user_id), "phone", phone)
    return phone


def enqueue(queue: DeliveryQueue, user_id: str, title: str, pipeline=None, **kw) -> str:
    nid = f"{1_700_000_000_000 + next(numbers)}-0"
    queue.enqueue(user_id, {"id": nid, "user_id": user_id, "title": title}, "sms",
                  pipeline=pipeline, **kw)
    return nid


def holder_of(client) -> int | None:
    """The pid of the worker holding alice's one pending job."""
    pending = client.xpending_range(jobs_of("alice"), GROUP, "-", "+", 10)
    if not pending:
        return None
    return int(pending[0]["consumer"].decode().rsplit(":", 2)[1])


def test_a_job_of_a_worker_killed_mid_send_is_delivered_by_another_once(
        start, peer, queue, redis_client):
    workers = {w.pid: w for w in (start(), start())}
    phone = phone_of(redis_client, "alice")
    peer.script(phone, Answer(hang=True))  # the first worker's send never gets an answer
    nid = enqueue(queue, "alice", "Your code is 4812")
    assert eventually(lambda: len(peer.received_for(phone)) == 1)
    victim = workers[holder_of(redis_client)]
    victim.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    assert eventually(lambda: peer.accepted_for(phone), timeout=10)
    took = time.monotonic() - killed_at
    assert took < 2 + 1.5, took  # within the visibility timeout (2 s), and a poll
    assert eventually(lambda: queue.counts()["pending"] == 0)
    time.sleep(1.0)  # nothing further arrives
    assert len(peer.accepted_for(phone)) == 1
    assert [r.status for r in peer.received_for(phone)] == [None, 201]
    assert redis_client.xlen(jobs_of("alice")) == 0
    [survivor] = [w for w in workers.values() if w is not victim]
    assert survivor.stop() == 0
    events = queue.client.lrange(KEYS.delivery_timeline("alice", nid), 0, -1)
    assert len(events) == 1 and b'"accepted"' in events[0]


def test_provider_errors_are_retried_with_backoff_then_dead_lettered(
        start, peer, queue, redis_client):
    worker = start()
    phone = phone_of(redis_client, "alice")
    peer.script(phone, *[Answer(500)] * 4)
    enqueue(queue, "alice", "Build failed")
    assert eventually(lambda: queue.dead_letter_count() == 1, timeout=10)
    times = [r.at for r in peer.received_for(phone)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4, times
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps
    [dead] = queue.dead_letters()
    assert "HTTP 500" in dead.error and dead.job.attempt == 4
    assert queue.counts() == {"queued": 0, "pending": 0, "retrying": 0, "held": 0, "dead": 1}
    assert worker.stop() == 0


def test_the_first_sigterm_finishes_the_job_in_progress(start, peer, queue, redis_client):
    worker = start()
    phone = phone_of(redis_client, "alice")
    peer.script(phone, Answer(delay=1.5))
    nid = enqueue(queue, "alice", "slow provider")
    assert eventually(lambda: len(peer.received_for(phone)) == 1)
    signalled = time.monotonic()
    worker.send(signal.SIGTERM)
    assert worker.process.wait(timeout=10) == 0
    assert time.monotonic() - signalled >= 1.0  # it waited for the answer
    assert len(peer.accepted_for(phone)) == 1
    assert queue.counts()["pending"] == 0 and redis_client.xlen(jobs_of("alice")) == 0
    assert redis_client.hlen(KEYS.delivery_records("alice", f"{nid}:sms")) == 1
    assert "stopped" in worker.log.read_text()


def test_a_second_sigterm_stops_at_once(start, peer, queue, redis_client):
    worker = start()
    phone = phone_of(redis_client, "alice")
    peer.script(phone, Answer(delay=20))
    enqueue(queue, "alice", "very slow provider")
    assert eventually(lambda: len(peer.received_for(phone)) == 1)
    worker.send(signal.SIGTERM)
    time.sleep(0.3)
    assert worker.process.poll() is None  # still finishing its job
    signalled = time.monotonic()
    worker.send(signal.SIGTERM)
    assert worker.process.wait(timeout=5) == -signal.SIGTERM
    assert time.monotonic() - signalled < 1.0
    # Its job is still pending: another worker reclaims it after the visibility timeout.
    assert queue.counts()["pending"] == 1
    start()
    assert eventually(lambda: peer.accepted_for(phone), timeout=10)


@pytest.mark.slow
def test_ten_thousand_jobs_with_random_failures_are_all_accounted_for(
        start, peer, queue, redis_client):
    users = 1000
    phones = {f"u{i}": phone_of(redis_client, f"u{i}") for i in range(users)}
    peer.fail_randomly({500: 0.15, 503: 0.05, 400: 0.01})
    titles = {}
    pipe = redis_client.pipeline(transaction=False)
    for i in range(10_000):
        user = f"u{i % users}"
        titles[f"job {i}"] = user
        enqueue(queue, user, f"job {i}", pipeline=pipe)
    held_until = time.time() + 3600  # quiet hours: these wait
    for i in range(50):
        enqueue(queue, f"u{i}", f"held {i}", pipeline=pipe, not_before=held_until)
    pipe.execute()
    started = time.monotonic()
    workers = [start(), start()]

    def settled():
        counts = queue.counts()
        return counts["queued"] == counts["retrying"] == 0 and counts["held"] == 50

    assert eventually(settled, timeout=120, interval=0.2), queue.counts()
    took = time.monotonic() - started
    accepted = Counter((r.to, r.body) for r in peer.accepted)
    assert max(accepted.values()) == 1, "no target got a job twice"
    delivered = {body for _, body in accepted}
    dead = {letter.job.notifications[0]["title"] for letter in queue.dead_letters(20_000)}
    assert not delivered & dead
    waiting = queue.counts()["held"]
    assert len(delivered) + len(dead) + waiting == 10_050
    assert delivered | dead == set(titles)
    for (to, body) in accepted:
        assert phones[titles[body]] == to  # each went to its user's phone
    failures = sum(n for status, n in peer.state.statuses.items() if status != 201)
    assert failures > 1500  # the provider really failed often
    assert all(w.stop() == 0 for w in workers)
    print(f"\n10,000 jobs on 2 workers in {took:.1f} s: {len(delivered)} delivered, "
          f"{len(dead)} dead-lettered, {waiting} held; {failures} provider failures")


def test_a_worker_reconnects_when_redis_drops_its_connections(start, peer, queue,
                                                              redis_client):
    worker = start()
    phone = phone_of(redis_client, "alice")
    enqueue(queue, "alice", "before")
    assert eventually(lambda: len(peer.accepted_for(phone)) == 1)
    name = f"notifier-worker:{worker.pid}"  # its own connections, named
    for _ in range(3):
        ids = [c["id"] for c in redis_client.client_list() if c["name"] == name]
        assert ids
        for client_id in ids:
            redis_client.client_kill_filter(_id=client_id)
        time.sleep(0.2)
    enqueue(queue, "alice", "after")
    assert eventually(lambda: len(peer.accepted_for(phone)) == 2, timeout=15)
    assert worker.process.poll() is None
    assert worker.stop() == 0


def test_the_console_shows_live_delivery_workers(tmp_path, redis_server, redis_client, peer):
    app = create_app(app_config(redis_server.url, KEY_PREFIX=PREFIX))
    store = app.extensions["notifier"]
    store.accounts.create("root", "correct horse battery", admin=True)
    console = app.test_client()
    sign_in(console, "root", "correct horse battery")

    def shown() -> int:
        page = console.get("/admin/deliveries").text
        return int(page.split('data-delivery-workers="')[1].split('"')[0])

    assert shown() == 0
    worker = WorkerProcess(redis_server.url, tmp_path, peer).wait_ready()
    try:
        assert eventually(lambda: shown() == 1, timeout=10)
        report = store.delivery_workers.read_workers()[0]
        assert report["pid"] == worker.pid and report["accepted"] == 0
    finally:
        assert worker.stop() == 0
    assert shown() == 0  # it withdrew its report as it stopped
