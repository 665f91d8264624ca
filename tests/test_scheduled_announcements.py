"""Broadcasts and group sends with send_at: fired once by the scheduler, or cancelled."""

import json
import time
from datetime import UTC, datetime, timedelta

from notifier.scheduling.scheduler import Runner


def soon(seconds: float = 0.3) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def fire_due(app, after: float = 0.35) -> None:
    time.sleep(after)
    runner = Runner(app)
    runner.run_due()
    runner.run_due()  # a second pass finds nothing left to run


def test_a_scheduled_broadcast_fires_once_and_a_cancelled_one_never(app, client, auth,
                                                                    redis_client):
    client.post("/api/v1/notifications", headers=auth,
                data=json.dumps({"user_id": "ann", "title": "hi"}))
    due = client.post("/api/v1/broadcasts", headers=auth,
                      data=json.dumps({"title": "Tonight", "send_at": soon()}))
    cancelled = client.post("/api/v1/broadcasts", headers=auth,
                            data=json.dumps({"title": "Never", "send_at": soon()}))
    assert due.status_code == 202 and due.json["scheduled"]["kind"] == "broadcast"
    assert client.delete(f"/api/v1/scheduled/{cancelled.json['scheduled']['id']}",
                         headers=auth).status_code == 204
    assert client.get("/api/v1/broadcasts", headers=auth).json["broadcasts"] == []
    fire_due(app)
    fire_due(app, 0)
    titles = [b["title"] for b in client.get("/api/v1/broadcasts", headers=auth).json[
        "broadcasts"]]
    assert titles == ["Tonight"]
    listed = client.get("/api/v1/users/ann/notifications", headers=auth).json["notifications"]
    assert [i["title"] for i in listed] == ["Tonight", "hi"]


def test_a_scheduled_group_send_goes_to_the_members_of_its_time(app, client, auth):
    client.post("/api/v1/groups", headers=auth, data=json.dumps({"name": "ops"}))
    client.put("/api/v1/groups/ops/members/ann", headers=auth)
    scheduled = client.post("/api/v1/groups/ops/notifications", headers=auth,
                            data=json.dumps({"title": "Rotation", "send_at": soon()}))
    assert scheduled.status_code == 202
    client.put("/api/v1/groups/ops/members/bob", headers=auth)
    fire_due(app)
    for user in ("ann", "bob"):
        [item] = client.get(f"/api/v1/users/{user}/notifications", headers=auth).json[
            "notifications"]
        assert (item["title"], item["group"]) == ("Rotation", "ops")


def test_scheduling_validates_like_sending(client, auth, redis_client):
    missing = client.post("/api/v1/groups/nope/notifications", headers=auth,
                          data=json.dumps({"title": "x", "send_at": soon(60)}))
    assert missing.status_code == 404
    late = client.post("/api/v1/broadcasts", headers=auth, data=json.dumps({
        "title": "w", "starts_at": soon(10), "ends_at": soon(20), "send_at": soon(60)}))
    assert late.status_code == 422 and late.json["error"]["field"] == "send_at"
    assert client.get("/api/v1/scheduled", headers=auth).json["scheduled"] == []
