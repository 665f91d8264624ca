"""/livez and /readyz on the real server, and the liveness reports of the schedulers
and delivery workers that /readyz and the console show."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from notifier import create_app
from notifier.backend import backend

from conftest import ARTIFACTS, LiveServer, RedisServer, app_config, live_env, sign_in

NOTIFIER = str(Path(sys.executable).parent / "notifier")


def eventually(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_livez_and_readyz_of_a_healthy_server(http):
    live = http.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert live.headers["Cache-Control"] == "no-store"
    # A worker that has just booted is not ready until its hub has heard from Redis; the
    # workers' own schedulers report every 5 s (other tests flush this Redis).
    def ready() -> bool:
        answers = [http.get("/readyz") for _ in range(4)]
        return all(answer.status_code == 200 and answer.json()["schedulers"] >= 1
                   for answer in answers)

    assert eventually(ready)
    body = http.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"] == {"redis": "ok", "hub": "ok"}
    assert body["delivery_workers"] == 0


@pytest.mark.slow
def test_readyz_is_503_while_redis_is_down_and_200_once_it_is_back(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    server = LiveServer(live_env(redis_server.url, tmp_path / "instance"))
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            assert eventually(lambda: http.get("/readyz").status_code == 200)
            redis_server.stop()
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "unavailable",
                                    "checks": {"redis": "unreachable", "hub": "disconnected"}}
            assert http.get("/livez").status_code == 200  # alive, only not ready
            redis_server.start()
            assert eventually(lambda: http.get("/readyz").status_code == 200)
            assert http.get("/readyz").json()["checks"] == {"redis": "ok", "hub": "ok"}
    finally:
        server.stop()
        redis_server.stop()


def start(command: str, redis_url: str, instance: Path) -> subprocess.Popen:
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"health-{command}-{os.getpid()}.log"
    return subprocess.Popen(
        [NOTIFIER, command], stdout=log.open("w"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **live_env(redis_url, instance), "NOTIFIER_SCHEDULER": "false"})


@pytest.mark.slow
def test_schedulers_and_delivery_workers_report_that_they_are_alive(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    instance = tmp_path / "instance"
    env = {**live_env(redis_server.url, instance), "NOTIFIER_SCHEDULER": "false"}
    server = LiveServer(env)
    processes = []
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            def counts():
                body = http.get("/readyz").json()
                return body["schedulers"], body["delivery_workers"]

            assert counts() == (0, 0)  # the server's workers run no scheduler here
            processes = [start("scheduler", redis_server.url, instance),
                         start("worker", redis_server.url, instance)]
            assert eventually(lambda: counts() == (1, 1)), counts()
            for process in processes:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            assert counts() == (0, 0)  # each withdrew its report as it stopped
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        server.stop()
        redis_server.stop()


def test_the_console_shows_the_running_schedulers(redis_server, redis_client, tmp_path,
                                                  monkeypatch):
    from notifier.scheduling.scheduler import Runner

    # A prefix of its own: the session's live server runs a scheduler in each worker,
    # and they report into the shared one.
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, KEY_PREFIX="health-schedulers"))
    with app.app_context():
        backend().accounts.create("root", "a long password", admin=True)
    client = app.test_client()
    assert sign_in(client, "root", "a long password").status_code == 302
    page = client.get("/admin/scheduled").text
    assert 'data-schedulers="0"' in page and "No scheduler is running" in page
    Runner(app)._beat()
    page = client.get("/admin/scheduled").text
    assert 'data-schedulers="1"' in page and "1 scheduler running" in page
