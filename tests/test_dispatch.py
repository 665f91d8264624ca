"""A send queues a delivery job per channel its recipient's preferences turn on, and
only for channels with a configured provider; a worker then delivers it."""

from __future__ import annotations

import json

import pytest
from test_delivery_worker import WorkerProcess, eventually

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import PARTITIONS, Keys

from conftest import TEST_PREFIX, app_config
from peers.sms_provider import SmsProvider

KEYS = Keys(TEST_PREFIX)


@pytest.fixture
def peer():
    provider = SmsProvider()
    yield provider
    provider.stop()


def api_client(redis_server, tmp_path, monkeypatch, **config):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config(redis_server.url, **config))
    with app.app_context():
        secret = backend().api_keys.create("tests")[1]
    return app.test_client(), {"Authorization": f"Bearer {secret}"}


def put_preferences(client, auth, user_id: str, document: dict) -> None:
    response = client.put(f"/api/v1/users/{user_id}/preferences", headers=auth,
                          data=json.dumps(document))
    assert response.status_code == 200, response.get_data(as_text=True)


def send(client, auth, **body) -> str:
    response = client.post("/api/v1/notifications", headers=auth, data=json.dumps(body))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["notifications"][0]["id"]


def jobs(redis_client) -> list[dict]:
    """Every partition's queued jobs, oldest first."""
    entries = sorted(((entry_id, fields) for part in range(PARTITIONS)
                      for entry_id, fields in redis_client.xrange(KEYS.delivery_jobs(part))),
                     key=lambda entry: tuple(map(int, entry[0].split(b"-"))))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


def test_a_send_queues_the_channels_turned_on_and_a_worker_delivers(
        redis_server, redis_client, tmp_path, monkeypatch, peer):
    client, auth = api_client(redis_server, tmp_path, monkeypatch, **peer.config())
    put_preferences(client, auth, "ann", {"phone": "+15551230001",
                                          "channels": {"*": {"sms": True}}})
    put_preferences(client, auth, "bob", {"phone": "+15551230002"})  # SMS: off by default
    nid = send(client, auth, user_id="ann", title="Build failed")
    send(client, auth, user_id="bob", title="Build failed")
    queued = jobs(redis_client)
    # Only ann's SMS: email and push are on by default but have no provider here.
    assert len(queued) == 1 and queued[0]["user"] == "ann" and queued[0]["channel"] == "sms"
    worker = WorkerProcess(redis_server.url, tmp_path, peer,
                           NOTIFIER_KEY_PREFIX=TEST_PREFIX).wait_ready()
    try:
        assert eventually(lambda: len(peer.accepted_for("+15551230001")) == 1)
        assert "Build failed" in peer.accepted_for("+15551230001")[0].body
        assert peer.received_for("+15551230002") == []
        timeline = client.get(f"/api/v1/notifications/ann/{nid}/deliveries", headers=auth)
        assert [d["outcome"] for d in timeline.json["deliveries"]] == ["accepted"]
    finally:
        worker.stop()


def test_quiet_hours_hold_the_job_until_the_window_ends(redis_server, redis_client, tmp_path,
                                                        monkeypatch, peer):
    client, auth = api_client(redis_server, tmp_path, monkeypatch, **peer.config())
    # A window covering all day but one minute: it is quiet now, whatever the time.
    put_preferences(client, auth, "ann", {
        "phone": "+15551230003", "channels": {"*": {"sms": True}}, "timezone": "UTC",
        "quiet_hours": {"start": "00:00", "end": "23:59"}})
    send(client, auth, user_id="ann", title="Later")
    send(client, auth, user_id="ann", title="Now", priority="urgent")
    by_title = {json.loads(job["n"])["title"]: job for job in jobs(redis_client)}
    assert set(by_title) == {"Later", "Now"}
    assert int(by_title["Later"]["not_before"]) > 0  # held until the window ends
    assert int(by_title["Now"]["not_before"]) == 0  # urgent goes through


def test_no_provider_configured_queues_nothing(client, auth, redis_client):
    put_preferences(client, auth, "ann", {"phone": "+15551230004", "email": "ann@example.com",
                                          "channels": {"*": {"sms": True}}})
    send(client, auth, user_id="ann", title="Hello")
    assert jobs(redis_client) == []
