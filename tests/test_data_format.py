"""The data format's version: set on a first start, checked by every process that
serves or works on the data, upgraded by ``notifier migrate``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.core.keys import Keys
from notifier.stores.data_format import CURRENT, DataFormat, DataFormatError, steps_from

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
