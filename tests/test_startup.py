"""Starting the server and the command on a clean machine: the address probe, the
address printed once ready, and the command's own version and help."""

import os
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from notifier.core.listening import AddressTaken, check_free, url_of

from conftest import LiveServer, free_port, live_env

NOTIFIER = str(Path(sys.executable).parent / "notifier")


def time_wait_on(port: int) -> bool:
    """Whether a connection whose local end is ``port`` is in TIME_WAIT."""
    out = subprocess.run(["ss", "-Htan", "state", "time-wait", f"sport = :{port}"],
                         capture_output=True, text=True, check=True).stdout
    return bool(out.strip())


def keep_alive_request_the_server_closes(port: int) -> None:
    """One keep-alive request, then wait for the server to close the idle connection:
    the server's end of it is left in TIME_WAIT on the listening port."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:80]


@pytest.mark.slow
def test_a_restart_is_not_refused_by_connections_in_time_wait(redis_server, tmp_path):
    env = live_env(redis_server.url, tmp_path / "instance")
    port = free_port()
    server = LiveServer(env, port=port)
    try:
        keep_alive_request_the_server_closes(port)
    finally:
        assert server.stop() == 0
    assert time_wait_on(port)
    restarted = LiveServer(env, port=port)
    try:
        assert time_wait_on(port)  # still there: the probe was not confused by it
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        restarted.stop()
    assert "cannot listen" not in restarted.log.read_text()


def test_the_probe_still_refuses_a_listening_address():
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(AddressTaken, match=f"cannot listen on {address}: Address already"):
            check_free(address)
    check_free(address)  # free again once it is closed
    check_free("unix:/nonexistent/notifier.sock")  # sockets in the file system: not probed


def test_a_second_server_on_a_taken_port_exits_with_a_clear_message(live_server):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=60,
        env={**os.environ, "NOTIFIER_BIND": f"127.0.0.1:{live_server.port}",
             "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode != 0
    assert f"notifier: cannot listen on 127.0.0.1:{live_server.port}: Address already in use" \
        in result.stderr


@pytest.mark.parametrize(("address", "url"), [
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("0.0.0.0:80", "http://localhost:80"),
    (":8000", "http://localhost:8000"),
    ("[::]:8000", "http://localhost:8000"),
    ("[::1]:9000", "http://[::1]:9000"),
    ("example.org:8080", "http://example.org:8080"),
    ("unix:/run/notifier.sock", "unix:/run/notifier.sock"),
])
def test_url_of_a_bind_address(address, url):
    assert url_of(address) == url


def test_the_server_says_where_it_answers_once_ready(redis_server, tmp_path):
    server = LiveServer(live_env(redis_server.url, tmp_path / "instance"), workers=2)
    try:
        deadline = time.monotonic() + 10
        while f"notifier is ready at {server.url}" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.05)
    finally:
        server.stop()
    assert server.log.read_text().count("notifier is ready at") == 1  # once, not per worker


def run_notifier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([NOTIFIER, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"},
                          stdin=subprocess.DEVNULL, cwd=cwd)


def test_version_is_notifiers():
    result = run_notifier("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"notifier {version('notifier')}"
    assert "Flask" not in result.stdout and "Python" not in result.stdout


def test_help_lists_only_notifiers_commands(tmp_path):
    (tmp_path / ".env").write_text("NOTIFIER_INBOX_MAX=5\n")  # Flask would hint at dotenv
    result = run_notifier("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1]
    listed = {line.split()[0] for line in commands.splitlines() if line.strip()}
    assert listed == {"api-keys", "backup", "migrate", "restore", "scheduler", "send", "serve",
                      "users", "worker"}
    assert "dotenv" not in result.stdout + result.stderr
    assert "--app" not in result.stdout and "--env-file" not in result.stdout
    for flask_command in ("run", "shell", "routes", "limiter"):
        assert "No such command" in run_notifier(flask_command).stderr


def test_an_unreachable_redis_is_one_line(tmp_path):
    result = subprocess.run([NOTIFIER, "users", "disable", "bob"], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL,
                            env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0",
                                 "NOTIFIER_INSTANCE_PATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach Redis:") and "Traceback" not in \
        result.stderr
