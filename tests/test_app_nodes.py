"""Several app nodes (each its own gunicorn and instance folder) on one Redis, a single
server or a cluster alike: a send through one node reaches a stream held by another,
and presence reported by either covers both."""

from __future__ import annotations

import time

import httpx
import pytest
from sse_client import Follower

from notifier import create_app
from notifier.backend import backend

from conftest import LiveServer, app_config, live_env

pytestmark = pytest.mark.slow


def test_a_send_through_node_b_reaches_a_stream_on_node_a(redis_server, redis_client,
                                                          tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "keys"))
    with create_app(app_config(redis_server.url)).app_context():
        auth = {"Authorization": f"Bearer {backend().api_keys.create('nodes')[1]}"}
    node_a, node_b = (LiveServer({**live_env(redis_server.url, tmp_path / name),
                                  "NOTIFIER_API_RATE_LIMIT": ""}) for name in ("a", "b"))
    users = [f"node-user{n}" for n in range(4)]
    followers = [Follower([node_a], user) for user in users]
    try:
        for follower in followers:
            follower.start()
        assert all(f.ready.wait(15) for f in followers)
        with httpx.Client(base_url=node_b.url, headers=auth, timeout=10) as http:
            sent = http.post("/api/v1/notifications", json={"user_ids": users, "title": "B"})
            assert sent.status_code == 201, sent.text
            ids = [n["id"] for n in sent.json()["notifications"]]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and [f.ids for f in followers] != [[i] for i in ids]:
                time.sleep(0.05)
            assert [f.ids for f in followers] == [[i] for i in ids]
            deadline = time.monotonic() + 10
            while True:  # B tells of the users whose streams A holds
                online = {u["user_id"] for u in http.get("/api/v1/presence").json()["users"]}
                if set(users) <= online or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert set(users) <= online
    finally:
        for follower in followers:
            follower.done.set()
        node_a.stop()
        node_b.stop()
