"""The data format's version: set on a first start, checked by every process that
serves or works on the data, upgraded by ``notifier migrate``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.core.keys import Keys
from notifier.delivery.queue import DeliveryQueue
from notifier.stores.data_format import (
    CURRENT,
    DataFormat,
    DataFormatError,
    partition_delivery,
    steps_from,
)

from conftest import ROOT, TEST_PREFIX, LiveServer, RedisServer, live_env

NOTIFIER = str(Path(sys.executable).parent / "notifier")
KEYS = Keys(TEST_PREFIX)
NEWER = CURRENT + 1
NEWER_MESSAGE = f"the data in Redis is in format {NEWER}, newer than this notifier knows " \
                f"({CURRENT})"


def first(client, keys):
    client.set("step-1", 1)


def second(client, keys):
    client.set("step-2", 1)


def test_the_steps_from_a_stored_format():
    assert steps_from(3, 3, {}) == []
    assert steps_from(1, 3, {1: first, 2: second}) == [(1, first), (2, second)]
    assert steps_from(2, 3, {1: first, 2: second}) == [(2, second)]
    with pytest.raises(DataFormatError, match="no step upgrades data format 2"):
        steps_from(1, 3, {1: first})
    with pytest.raises(DataFormatError, match="format 4, newer than this notifier knows"):
        steps_from(4, 3, {1: first, 2: second})


def test_a_first_start_records_the_format(redis_client):
    data_format = DataFormat(redis_client, KEYS)
    assert data_format.stored() is None
    assert data_format.require_known() == CURRENT
    assert redis_client.get(KEYS.data_format()) == str(CURRENT).encode()
    assert data_format.require_known() == CURRENT  # and again: nothing changes


@pytest.mark.parametrize(("stored", "message"), [
    (str(NEWER), NEWER_MESSAGE),
    ("0", "unreadable"),
    ("format one", "unreadable"),
])
def test_a_format_it_does_not_know_is_refused(redis_client, stored, message):
    redis_client.set(KEYS.data_format(), stored)
    with pytest.raises(DataFormatError, match=re.escape(message)):
        DataFormat(redis_client, KEYS).require_known()
    assert redis_client.get(KEYS.data_format()) == stored.encode()  # left as it was


@pytest.fixture(autouse=True)
def current_format_after(redis_server):
    """Leave the shared Redis in the current format: servers that start for later tests
    would refuse another one."""
    yield
    client = redis_server.client()
    client.set(KEYS.data_format(), CURRENT)
    client.close()


@pytest.fixture
def run(redis_server, redis_client, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_server.url, "NOTIFIER_KEY_PREFIX": TEST_PREFIX,
           "NOTIFIER_BOOTSTRAP_ADMIN": "false", "NOTIFIER_INSTANCE_PATH": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NOTIFIER, *args], env=env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    return run


def test_migrate(run, redis_client):
    done = run("migrate")
    assert done.returncode == 0, done.stderr
    assert f"in format {CURRENT} already: nothing to do" in done.stdout
    assert redis_client.get(KEYS.data_format()) == str(CURRENT).encode()
    redis_client.set(KEYS.data_format(), NEWER)
    refused = run("migrate")
    assert refused.returncode == 1 and NEWER_MESSAGE in refused.stderr
    assert "Traceback" not in refused.stderr
    assert redis_client.get(KEYS.data_format()) == str(NEWER).encode()


def test_migrate_partitions_format_1_presence_and_reports(run, redis_client):
    old = KEYS.format1_presence
    redis_client.set(KEYS.data_format(), 1)
    redis_client.hset(old("last_seen"), mapping={"gone": 1000, "back": 2000})
    # "back" was online when its servers stopped: last seen when its entry expires.
    redis_client.zadd(old("until"), {"back": 5000})
    redis_client.zadd(old("online"), {"back": 0})
    redis_client.hset(old("since"), "back", 4000)
    redis_client.zadd(old("u:back"), {"web-1:7:aa": 5000})
    for name in KEYS.format1_reports():
        redis_client.hset(name, "w", "{}")
    done = run("migrate")
    assert done.returncode == 0, done.stderr
    assert redis_client.get(KEYS.data_format()) == str(CURRENT).encode()
    for user, at in (("gone", b"1000"), ("back", b"5000")):
        part = KEYS.presence_partition(user)
        assert redis_client.hget(KEYS.presence_last_seen(part), user) == at
    names = [old(n) for n in ("last_seen", "until", "online", "since", "u:back")]
    assert not any(redis_client.exists(name) for name in names + KEYS.format1_reports())


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_workers_refuse_a_newer_format(run, redis_client, command):
    redis_client.set(KEYS.data_format(), NEWER)
    refused = run(command)
    assert refused.returncode == 1
    assert f"cannot start: {NEWER_MESSAGE}" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_a_server_records_the_format_and_refuses_a_newer_one(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    client = redis_server.client()
    env = live_env(redis_server.url, tmp_path / "instance")
    try:
        server = LiveServer(env)
        server.stop()
        assert client.get(KEYS.data_format()) == str(CURRENT).encode()
        client.set(KEYS.data_format(), NEWER)
        refused = subprocess.run(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ, "NOTIFIER_ACCESS_LOG": "", **env,
                 "NOTIFIER_BIND": f"127.0.0.1:{server.port}", "WEB_CONCURRENCY": "2"})
        assert refused.returncode != 0
        assert f"notifier: cannot start: {NEWER_MESSAGE}" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        client.close()
        redis_server.stop()


def users_in_different_partitions(count: int) -> list[str]:
    """``count`` user ids, each in a delivery partition of its own."""
    found: dict[int, str] = {}
    number = 0
    while len(found) < count:
        found.setdefault(KEYS.delivery_partition(f"u{number}"), f"u{number}")
        number += 1
    return list(found.values())


def format2_queue(client, ann: str, bob: str) -> dict[str, bytes]:
    """A format-2 delivery queue: a job waiting and one left in progress, a retry, a
    held bucket and a dead letter; the entry ids of the streams' entries."""
    old = KEYS.format2_delivery
    job = {"job": "1-0:sms", "user": ann, "channel": "sms", "nid": "1-0", "n": "{}",
           "attempt": "1", "not_before": "0"}
    ids = {"waiting": client.xadd(old("jobs"), job, id="5-0"),
           "in progress": client.xadd(old("jobs"), {**job, "user": bob}, id="6-0"),
           "dead": client.xadd(old("dead"), {**job, "error": "HTTP 500", "failed_at": "7"},
                               id="7-0")}
    client.xgroup_create(old("jobs"), "workers", id="5-0")
    client.xreadgroup("workers", "gone", {old("jobs"): ">"}, count=1)  # bob's: pending
    client.zadd(old("delayed"), {json.dumps({**job, "user": bob, "attempt": "2"}): 9000})
    client.zadd(old("held"), {f"{ann}|sms|quiet": 8000})
    client.zadd(old("held-jobs"), {f"{ann}|sms|quiet\0{json.dumps(job)}": 0})
    return ids


def test_migrate_partitions_the_format_2_delivery_queue(run, redis_client):
    ann, bob = users_in_different_partitions(2)
    a, b = KEYS.delivery_partition(ann), KEYS.delivery_partition(bob)
    redis_client.set(KEYS.data_format(), 2)
    ids = format2_queue(redis_client, ann, bob)
    done = run("migrate")
    assert done.returncode == 0, done.stderr
    assert redis_client.get(KEYS.data_format()) == str(CURRENT).encode()
    assert [i for i, _ in redis_client.xrange(KEYS.delivery_jobs(a))] == [ids["waiting"]]
    assert [i for i, _ in redis_client.xrange(KEYS.delivery_jobs(b))] == [ids["in progress"]]
    [(dead_id, dead)] = redis_client.xrange(KEYS.delivery_dead(a))
    assert dead_id == ids["dead"] and dead[b"error"] == b"HTTP 500"
    [(retry, due)] = redis_client.zrange(KEYS.delivery_delayed(b), 0, -1, withscores=True)
    assert json.loads(retry)["attempt"] == "2" and due == 9000
    assert redis_client.zrange(KEYS.delivery_held(a), 0, -1, withscores=True) == [
        (f"{ann}|sms|quiet".encode(), 8000)]
    assert redis_client.zcard(KEYS.delivery_held_jobs(a)) == 1
    old = [KEYS.format2_delivery(n) for n in ("jobs", "delayed", "held", "held-jobs", "dead")]
    assert not any(redis_client.exists(name) for name in old)
    queue = DeliveryQueue(redis_client, KEYS)
    queue.ensure_group()
    assert {job.user_id for job in queue.read("new", 10, None)} == {ann, bob}
    assert queue.counts() == {"queued": 2, "pending": 2, "retrying": 1, "held": 1, "dead": 1}


def test_the_delivery_step_run_again_after_a_crash_copies_nothing_twice(redis_client):
    ann, bob = users_in_different_partitions(2)
    format2_queue(redis_client, ann, bob)
    partition_delivery(redis_client, KEYS)
    format2_queue(redis_client, ann, bob)  # as if the first run stopped before deleting
    partition_delivery(redis_client, KEYS)
    assert DeliveryQueue(redis_client, KEYS).counts() == {
        "queued": 2, "pending": 0, "retrying": 1, "held": 1, "dead": 1}
