"""The embedded redis-server: one owner, adopted when orphaned, data kept across restarts."""

import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import redis

from notifier.core.keys import Keys
from notifier.model.requests import NotificationContent
from notifier.stores.embedded_redis import EmbeddedRedis
from notifier.stores.inbox import Inbox


def server_pid(embedded: EmbeddedRedis) -> int:
    client = redis.Redis(unix_socket_path=str(embedded.socket))
    try:
        return client.info("server")["process_id"]
    finally:
        client.close()


def in_subprocess(directory, code: str) -> subprocess.CompletedProcess:
    script = textwrap.dedent(f"""
        import os, signal
        from notifier.stores.embedded_redis import EmbeddedRedis
        embedded = EmbeddedRedis({str(directory)!r}).ensure()
    """) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)


def test_owner_starts_and_stops_the_server(tmp_path):
    embedded = EmbeddedRedis(tmp_path / "r").ensure()
    assert embedded.owner and embedded.url == f"unix://{embedded.socket}"
    pid = server_pid(embedded)
    config = redis.Redis(unix_socket_path=str(embedded.socket)).config_get("append*")
    assert config == {"appendonly": "yes", "appendfsync": "everysec",
                      "appendfilename": "appendonly.aof"} or config["appendonly"] == "yes"
    embedded.stop()
    assert not embedded.socket.exists()
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text()


def test_another_process_becomes_a_client_not_a_second_server(tmp_path):
    embedded = EmbeddedRedis(tmp_path / "r").ensure()
    try:
        result = in_subprocess(tmp_path / "r", "print(embedded.owner, embedded.url)")
        assert result.stdout.split() == ["False", embedded.url], result.stderr
        assert server_pid(embedded) == embedded._process.pid
    finally:
        embedded.stop()


def test_server_of_a_crashed_owner_is_adopted(tmp_path):
    crashed = in_subprocess(tmp_path / "r", """
        print(embedded._process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert crashed.returncode == -signal.SIGKILL
    orphan_pid = int(crashed.stdout.split()[0])
    embedded = EmbeddedRedis(tmp_path / "r").ensure()
    try:
        assert embedded.owner and server_pid(embedded) == orphan_pid
    finally:
        embedded.stop()
    assert not embedded.socket.exists()


def test_stale_socket_file_is_replaced(tmp_path):
    directory = tmp_path / "r"
    directory.mkdir()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(directory / "redis.sock"))
    stale.close()  # the file stays, nothing listens
    embedded = EmbeddedRedis(directory).ensure()
    try:
        assert embedded.owner and server_pid(embedded) == embedded._process.pid
    finally:
        embedded.stop()


def test_notifications_survive_a_restart(tmp_path):
    directory = tmp_path / "r"
    embedded = EmbeddedRedis(directory).ensure()
    client = redis.Redis.from_url(embedded.url)
    inbox = Inbox(client, Keys("p"), cap=100, idempotency_ttl=60)
    outcome = inbox.send([NotificationContent(title="kept")], [("u", 0)])
    client.close()
    embedded.stop()

    again = EmbeddedRedis(directory).ensure()
    try:
        client = redis.Redis.from_url(again.url)
        items, _ = Inbox(client, Keys("p"), cap=100, idempotency_ttl=60).page("u", limit=10)
        assert [(n.id, n.title) for n in items] == [(outcome.ids[0], "kept")]
        client.close()
    finally:
        again.stop()


def test_stop_is_a_no_op_for_clients(tmp_path):
    owner = EmbeddedRedis(tmp_path / "r").ensure()
    client_side = EmbeddedRedis(tmp_path / "r").ensure()
    try:
        assert not client_side.owner
        client_side.stop()
        assert server_pid(owner) == owner._process.pid
    finally:
        owner.stop()
