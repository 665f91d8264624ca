"""The notifier command against a real Redis."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.core.keys import Keys

from conftest import TEST_PREFIX

NOTIFIER = str(Path(sys.executable).parent / "notifier")
KEYS = Keys(TEST_PREFIX)


@pytest.fixture
def cli(redis_server, redis_client, tmp_path):
    env = {**os.environ, "REDIS_URL": redis_server.url, "NOTIFIER_KEY_PREFIX": TEST_PREFIX,
           "NOTIFIER_BOOTSTRAP_ADMIN": "false", "NOTIFIER_INSTANCE_PATH": str(tmp_path)}

    def run(*args: str, ok: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([NOTIFIER, *args], env=env, capture_output=True, text=True,
                                timeout=60, input=input,
                                stdin=None if input is not None else subprocess.DEVNULL)
        assert (result.returncode == 0) == ok, result.stderr
        return result

    return run


def test_users_create(cli, redis_client):
    assert "created admin account root" in cli("users", "create", "root", "--admin",
                                               "--password", "a long password").stdout
    assert redis_client.hget(KEYS.account("root"), "admin") == b"1"
    assert "exists already" in cli("users", "create", "root", "--password", "x" * 12,
                                   ok=False).stderr
    assert "Invalid value" in cli("users", "create", "bad name", "--password", "x" * 12,
                                  ok=False).stderr


def test_users_reset_password_prompts_and_signs_out(cli, redis_client):
    cli("users", "create", "bob", "--password", "the first password")
    redis_client.zadd(KEYS.sessions("bob"), {"a-session": 1})
    out = cli("users", "reset-password", "bob",
              input="the second password\nthe second password\n").stdout
    assert "new password set for bob" in out and "signed out" in out
    assert not redis_client.exists(KEYS.sessions("bob"))
    stored = redis_client.hget(KEYS.account("bob"), "password").decode()
    from notifier.core.passwords import check_password

    assert check_password(stored, "the second password")
    assert "at least 10" in cli("users", "reset-password", "bob", "--password", "short",
                                ok=False).stderr
    assert "no account named 'nobody'" in cli("users", "reset-password", "nobody",
                                              "--password", "x" * 12, ok=False).stderr


def test_users_disable_enable_and_set_admin(cli, redis_client):
    cli("users", "create", "carol", "--password", "a long password")
    redis_client.zadd(KEYS.sessions("carol"), {"a-session": 1})
    assert "disabled carol" in cli("users", "disable", "carol").stdout
    assert redis_client.hget(KEYS.account("carol"), "disabled") == b"1"
    assert not redis_client.exists(KEYS.sessions("carol"))
    cli("users", "enable", "carol")
    assert redis_client.hget(KEYS.account("carol"), "disabled") == b"0"
    assert "now an admin" in cli("users", "set-admin", "carol").stdout
    assert redis_client.hget(KEYS.account("carol"), "admin") == b"1"
    assert "no longer an admin" in cli("users", "set-admin", "carol", "--revoke").stdout
    assert redis_client.hget(KEYS.account("carol"), "admin") == b"0"
    for command in (["disable"], ["enable"], ["set-admin"], ["set-admin", "--revoke"]):
        failed = cli("users", *command, "nobody", ok=False)
        assert "no account named 'nobody'" in failed.stderr and "Traceback" not in failed.stderr
    assert not redis_client.exists(KEYS.account("nobody"))
    assert "Invalid value" in cli("users", "disable", "bad name", ok=False).stderr


def test_users_create_refuses_a_name_differing_only_in_case(cli, redis_client):
    cli("users", "create", "Dana", "--password", "a long password")
    assert "exists already" in cli("users", "create", "dana", "--password", "a long password",
                                   ok=False).stderr
    assert not redis_client.exists(KEYS.account("dana"))


def test_api_keys_create_list_revoke(cli, redis_client):
    secret = cli("api-keys", "create", "billing").stdout.strip()
    assert secret.startswith("nk_")
    key_id = secret.split("_")[1]
    assert secret.split("_", 2)[2] not in str(redis_client.hgetall(KEYS.api_key(key_id)))
    listed = cli("api-keys", "list").stdout
    assert key_id in listed and "active" in listed and "billing" in listed
    assert secret not in listed
    cli("api-keys", "revoke", key_id)
    assert "revoked" in cli("api-keys", "list").stdout
    assert "no API key" in cli("api-keys", "revoke", "0" * 16, ok=False).stderr


def test_send(cli, redis_client):
    notification_id = cli("send", "bob", "--title", "From the shell", "--priority",
                          "high").stdout.strip()
    [(entry_id, fields)] = redis_client.xrange(KEYS.inbox("bob"))
    assert entry_id.decode() == notification_id and b"From the shell" in fields[b"n"]
    assert "Invalid value" in cli("send", "bad id", "--title", "x", ok=False).stderr
    cli("send", "bob", "--title", "In a thread", "--thread", "pr-4411")
    assert b'"thread":"pr-4411"' in redis_client.xrange(KEYS.inbox("bob"))[-1][1][b"n"]
    refused = cli("send", "bob", "--title", "x", "--thread", "pr 1", ok=False).stderr
    assert "thread" in refused


def test_api_key_scopes(cli, redis_client):
    created = cli("api-keys", "create", "mailer", "--scope", "send")
    key_id = created.stderr.split("key id ")[1].split()[0]
    assert redis_client.hget(KEYS.api_key(key_id), "scopes") == b"send"
    assert f"{key_id}  active    mailer  scopes: send  origins: -" in cli("api-keys",
                                                                          "list").stdout
    assert cli("api-keys", "set-scopes", key_id, "widget", "read").stdout.strip() == \
        f"{key_id}: read widget"
    assert "Invalid value" in cli("api-keys", "set-scopes", key_id, "everything",
                                  ok=False).stderr
    assert "no API key" in cli("api-keys", "set-scopes", "0" * 16, "send", ok=False).stderr
    every = cli("api-keys", "create", "all")
    every_id = every.stderr.split("key id ")[1].split()[0]
    assert redis_client.hget(KEYS.api_key(every_id), "scopes") == b"send read manage widget"
