"""The real server: gunicorn with gevent workers, over real HTTP."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer, csrf_from

NOTIFIER = str(Path(sys.executable).parent / "notifier")


def redis_servers_for(socket_path: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"redis-server" in cmdline and str(socket_path).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_embedded_default_first_admin_and_restart(tmp_path):
    """What `make run` does: no REDIS_URL, first start makes an admin, data survives."""
    instance = tmp_path / "instance"
    env = {"NOTIFIER_INSTANCE_PATH": str(instance), "REDIS_URL": "", "SECRET_KEY": ""}
    os.environ.pop("REDIS_URL", None)
    socket_path = instance / "redis" / "redis.sock"

    server = LiveServer(env, workers=2)
    try:
        assert len(redis_servers_for(socket_path)) == 1
        key = subprocess.run(
            [NOTIFIER, "api-keys", "create", "curl"], capture_output=True, text=True,
            env={**os.environ, **env}, timeout=60, check=True).stdout.strip()
        with httpx.Client(base_url=server.url) as http:
            sent = http.post("/api/v1/notifications", headers={"Authorization": f"Bearer {key}"},
                             json={"user_id": "admin", "title": "Survives restarts"})
            assert sent.status_code == 201
        assert len(redis_servers_for(socket_path)) == 1  # the CLI used the same server
    finally:
        assert server.stop() == 0
    log = server.log.read_text()
    assert log.count("username admin; its password is in") == 1, log
    password = (instance / "first-admin-password").read_text().strip()
    assert password not in log
    assert not socket_path.exists() and redis_servers_for(socket_path) == []

    server = LiveServer(env, workers=2)
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True) as browser_like:
            login = browser_like.get("/login")
            inbox = browser_like.post("/login", data={
                "username": "admin", "password": password, "csrf_token": csrf_from(login.text)})
            assert inbox.url.path == "/inbox" and "Survives restarts" in inbox.text
    finally:
        server.stop()
    assert "username admin" not in server.log.read_text()  # only on the very first start


def test_send_and_read_over_http(http, api_key):
    auth = {"Authorization": f"Bearer {api_key}"}
    sent = http.post("/api/v1/notifications", headers=auth,
                     json={"user_ids": ["h1", "h2"], "title": "over the wire"})
    assert sent.status_code == 201
    listed = http.get("/api/v1/users/h2/notifications", headers=auth).json()
    assert [n["title"] for n in listed["notifications"]] == ["over the wire"]
    too_big = http.post("/api/v1/notifications", headers=auth,
                        content=b'{"user_id":"h1","title":"' + b"x" * 70_000 + b'"}')
    assert too_big.status_code == 413 and too_big.json()["error"]["code"]
    bad = http.post("/api/v1/notifications", headers=auth, content=b"\xff\xfe")
    assert bad.status_code == 400 and "Traceback" not in bad.text


def test_pages_over_http(http):
    response = http.get("/login")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert http.get("/static/app.css").status_code == 200
