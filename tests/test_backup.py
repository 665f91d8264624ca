"""``notifier backup`` and ``notifier restore``: back up, wipe, restore, find it all back.

The commands run as an operator runs them (the ``notifier`` executable, its settings
in the environment) against a redis-server of these tests' own, which they flush.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import Keys
from notifier.delivery.channels.vapid import VAPID_KEY_FILE, load_vapid

from conftest import TEST_PREFIX, RedisServer, app_config

NOTIFIER = str(Path(sys.executable).parent / "notifier")
PREFERENCES = {"email": "ann@example.com", "timezone": "Europe/Berlin",
               "quiet_hours": {"start": "22:00", "end": "07:00"},
               "channels": {"*": {"email": True}, "billing": {"email": False}}}


@pytest.fixture
def private_redis(tmp_path):
    """A server of these tests' own: they flush it, and check every key on it."""
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(folder))
    return folder


def fresh_app(redis_url: str):
    """The app as a server builds it: the secret key from the instance folder."""
    return create_app(app_config(redis_url, SECRET_KEY="", API_KEY_CACHE_SECONDS=0))


def run(redis_url: str, instance: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_URL": redis_url, "NOTIFIER_KEY_PREFIX": TEST_PREFIX,
           "NOTIFIER_INSTANCE_PATH": str(instance), "NOTIFIER_BOOTSTRAP_ADMIN": "false"}
    env.pop("SECRET_KEY", None)
    return subprocess.run([NOTIFIER, *args], capture_output=True, text=True, env=env,
                          timeout=60)


def populate(app) -> tuple[str, dict]:
    """Accounts, notifications (one read), preferences and an API key, made through the
    app; returns the key and what the API says about each user."""
    with app.app_context():
        state = backend()
        state.accounts.create("ann", "correct horse battery")
        state.accounts.create("root_admin", "battery staple horse", admin=True)
        secret = state.api_keys.create("billing")[1]
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    for user_id, count in (("ann", 3), ("bob", 2)):
        for number in range(count):
            response = client.post("/api/v1/notifications", headers=auth, json={
                "user_id": user_id, "title": f"{user_id} {number}",
                "idempotency_key": f"{user_id}-{number}"})
            assert response.status_code == 201, response.text
    first = client.get("/api/v1/users/ann/notifications", headers=auth).json
    read = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                       json={"ids": [first["notifications"][0]["id"]]})
    assert read.status_code == 200, read.text
    assert client.put("/api/v1/users/ann/preferences", headers=auth,
                      json=PREFERENCES).status_code == 200
    return secret, seen_by_api(app, secret)


def seen_by_api(app, secret: str) -> dict:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    seen = {}
    for user_id in ("ann", "bob"):
        for what in ("notifications", "unread-count", "preferences"):
            response = client.get(f"/api/v1/users/{user_id}/{what}", headers=auth)
            assert response.status_code == 200, response.text
            seen[user_id, what] = response.json
    return seen


def keys_with_ttls(client) -> dict[bytes, bool]:
    return {name: client.pttl(name) > 0 for name in client.scan_iter(count=1000)}


def test_backup_wipe_restore_finds_everything_back(private_redis, instance, tmp_path):
    app = fresh_app(private_redis.url)
    load_vapid(instance)
    secret, before = populate(app)
    redis = private_redis.client()
    stored = keys_with_ttls(redis)
    assert all(name.startswith(f"{TEST_PREFIX}:".encode()) for name in stored), sorted(stored)
    assert any(stored.values()), "some keys (idempotency records) expire"
    files = {name: (instance / name).read_bytes() for name in ("secret_key", VAPID_KEY_FILE)}
    backup = tmp_path / "backups" / "notifier.backup"
    backup.parent.mkdir()

    done = run(private_redis.url, instance, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert f"backed up {len(stored)} keys and 2 secret files" in done.stdout
    assert backup.stat().st_mode & 0o777 == 0o600

    redis.flushdb()
    for name in files:
        (instance / name).unlink()
    done = run(private_redis.url, instance, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert f"restored {len(stored)} keys and 2 secret files" in done.stdout

    assert keys_with_ttls(redis) == stored  # every key, and the ones that expire still do
    for name, content in files.items():
        assert (instance / name).read_bytes() == content
        assert (instance / name).stat().st_mode & 0o777 == 0o600
    restored = fresh_app(private_redis.url)
    assert restored.config["SECRET_KEY"] == files["secret_key"].decode().strip()
    assert seen_by_api(restored, secret) == before
    with restored.app_context():
        accounts = backend().accounts
        assert accounts.authenticate("ann", "correct horse battery") is not None
        assert accounts.authenticate("root_admin", "battery staple horse").is_admin
    sent = restored.test_client().post("/api/v1/notifications", json={
        "user_id": "bob", "title": "after the restore"},
        headers={"Authorization": f"Bearer {secret}"})
    assert sent.status_code == 201, sent.text
    assert sent.json["notifications"][0]["id"] > before["bob", "notifications"][
        "notifications"][0]["id"]


def test_restore_refuses_an_instance_with_data_unless_told_to_replace(
        private_redis, instance, tmp_path):
    app = fresh_app(private_redis.url)
    secret, before = populate(app)
    backup = tmp_path / "notifier.backup"
    assert run(private_redis.url, instance, "backup", str(backup)).returncode == 0
    with app.app_context():
        backend().accounts.create("carl", "correct horse battery")
    done = run(private_redis.url, instance, "restore", str(backup))
    assert done.returncode == 1
    assert "already holds" in done.stderr and "--replace" in done.stderr
    with app.app_context():
        assert backend().accounts.get("carl") is not None  # untouched

    done = run(private_redis.url, instance, "restore", "--replace", str(backup))
    assert done.returncode == 0, done.stderr
    with app.app_context():
        assert backend().accounts.get("carl") is None  # exactly the backup's state
    assert seen_by_api(fresh_app(private_redis.url), secret) == before


def test_a_cut_off_or_foreign_backup_writes_nothing(private_redis, instance, tmp_path):
    app = fresh_app(private_redis.url)
    populate(app)
    backup = tmp_path / "notifier.backup"
    assert run(private_redis.url, instance, "backup", str(backup)).returncode == 0
    lines = gzip.decompress(backup.read_bytes()).splitlines(keepends=True)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(gzip.compress(b"".join(lines[:-3])))
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(backup.read_bytes()[:-40])
    other_prefix = tmp_path / "other.backup"
    other_prefix.write_bytes(gzip.compress(
        lines[0].replace(f'"prefix":"{TEST_PREFIX}"'.encode(), b'"prefix":"elsewhere"')
        + b"".join(lines[1:])))
    not_one = tmp_path / "notes.txt"
    not_one.write_text("hello\n")
    private_redis.client().flushdb()
    for path, message in ((cut, "incomplete"), (truncated, "cannot be read"),
                          (other_prefix, "prefix 'elsewhere'"),
                          (not_one, "not a notifier backup")):
        done = run(private_redis.url, instance, "restore", str(path))
        assert done.returncode == 1 and message in done.stderr, (path, done.stderr)
        assert not done.stderr.count("Traceback")
        assert private_redis.client().dbsize() == 0


def test_another_prefix_is_neither_backed_up_nor_touched(private_redis, instance, tmp_path):
    redis = private_redis.client()
    redis.set("tt:not-ours", "1")  # a prefix that starts like this instance's
    redis.set(f"{TEST_PREFIX}x:not-ours", "1")
    populate(fresh_app(private_redis.url))
    backup = tmp_path / "notifier.backup"
    assert run(private_redis.url, instance, "backup", str(backup)).returncode == 0
    records = [json.loads(line) for line in gzip.decompress(backup.read_bytes()).splitlines()]
    names = {base64.b64decode(record["key"]) for record in records if "key" in record}
    assert names and all(name.startswith(f"{TEST_PREFIX}:".encode()) for name in names)
    assert run(private_redis.url, instance, "restore", "--replace",
               str(backup)).returncode == 0
    assert redis.get("tt:not-ours") == b"1" and redis.get(f"{TEST_PREFIX}x:not-ours") == b"1"


def test_the_scan_pattern_escapes_the_prefix():
    assert Keys("a*b[1]?").everything() == r"a\*b\[1\]\?:*"
