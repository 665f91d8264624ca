"""Scheduling through the API: send_at, validation, idempotency, list, look up, cancel.

Items here are due an hour ahead: they never fire during a test (firing is
tested in test_scheduler.py).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core.keys import Keys

from conftest import TEST_PREFIX, all_keys

KEYS = Keys(TEST_PREFIX)
SEND = "/api/v1/notifications"
BATCH = "/api/v1/notifications/batch"


def later(seconds: float = 3600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def post(client, auth, path, body):
    return client.post(path, data=json.dumps(body), headers=auth)


#: Partitions that running servers' workers write by themselves (presence, reports).
BACKGROUND = (b"{workers.", b"{schedulers.", b"{delivery-workers.", b"{presence.")


def written(redis_client) -> list[bytes]:
    """Every key a send or a schedule would write."""
    return [key for key in all_keys(redis_client, f"{TEST_PREFIX}:{{*")
            if not key.split(b":", 2)[1].startswith(BACKGROUND)]


def test_send_at_schedules_instead_of_sending(client, auth, redis_client):
    at = later()
    response = post(client, auth, SEND, {"user_ids": ["a", "b", "a"], "title": "Soon",
                                         "send_at": at})
    assert response.status_code == 202
    scheduled = response.json["scheduled"]
    assert scheduled["kind"] == "notifications" and scheduled["id"].startswith("sch_")
    assert datetime.fromisoformat(scheduled["send_at"]) >= datetime.fromisoformat(at)
    assert all_keys(redis_client, f"{TEST_PREFIX}:{{u:*") == []  # nothing sent yet
    item = client.get(f"/api/v1/scheduled/{scheduled['id']}", headers=auth).json
    assert (item["state"], item["title"], item["recipients"], item["attempts"]) == \
        ("scheduled", "Soon", 2, 0)
    assert item["created_by"].startswith("api:") and item["error"] is None


def test_batch_takes_one_send_at(client, auth):
    items = [{"user_id": f"u{i % 3}", "title": f"n{i}"} for i in range(5)]
    response = post(client, auth, BATCH, {"notifications": items, "send_at": later()})
    assert response.status_code == 202
    item = client.get(f"/api/v1/scheduled/{response.json['scheduled']['id']}",
                      headers=auth).json
    assert (item["title"], item["recipients"]) == ("n0 (+4 more)", 3)
    per_item = post(client, auth, BATCH, {"notifications": [{**items[0], "send_at": later()}]})
    assert per_item.status_code == 422
    unknown = {"code": "unknown_field", "field": "notifications[0].send_at",
               "message": "Unknown field 'notifications[0].send_at'."}
    assert per_item.json["error"] == {**unknown, "errors": [unknown]}


@pytest.mark.parametrize(("send_at", "message"), [
    ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), "in the future"),
    ("2099-01-01T00:00:00", "timezone"),
    (later(400 * 86400), "at most 365 days ahead"),
    ("tomorrow", "datetime"),
    (1893456000, "datetime"),
], ids=["past", "no-timezone", "too-far", "words", "number"])
def test_bad_send_at_is_422_and_writes_nothing(client, auth, redis_client, send_at, message):
    for path, body in ((SEND, {"user_id": "u", "title": "t", "send_at": send_at}),
                       (BATCH, {"notifications": [{"user_id": "u", "title": "t"}],
                                "send_at": send_at})):
        response = post(client, auth, path, body)
        assert response.status_code == 422, response.json
        assert response.json["error"]["field"] == "send_at"
        assert message in response.json["error"]["message"]
    assert written(redis_client) == []


def test_send_at_must_come_before_expiry(client, auth, redis_client):
    response = post(client, auth, SEND, {"user_id": "u", "title": "t", "send_at": later(60),
                                         "expires_at": later(30)})
    assert response.status_code == 422 and response.json["error"]["field"] == "send_at"
    items = [{"user_id": "u", "title": "t"}, {"user_id": "v", "title": "t",
                                               "expires_at": later(30)}]
    response = post(client, auth, BATCH, {"notifications": items, "send_at": later(60)})
    assert response.status_code == 422 and response.json["error"]["field"] == "send_at"
    assert written(redis_client) == []


def test_other_fields_are_still_validated_and_nothing_is_half_written(client, auth,
                                                                      redis_client):
    missing = post(client, auth, SEND, {"user_id": "u", "send_at": later()})
    assert missing.status_code == 422 and missing.json["error"]["field"] == "title"
    items = [{"user_id": f"u{i}", "title": "t"} for i in range(1000)]
    items[700]["link"] = "javascript:alert(1)"
    bad = post(client, auth, BATCH, {"notifications": items, "send_at": later()})
    assert bad.status_code == 422
    assert bad.json["error"]["field"] == "notifications[700].link"
    # What the sender can see: nothing was scheduled, nothing sent.
    assert client.get("/api/v1/scheduled", headers=auth).json == {"scheduled": [], "next": None}
    assert client.get("/api/v1/users/u0/notifications", headers=auth).json["notifications"] == []
    assert written(redis_client) == []


def test_idempotent_schedule(client, auth, store):
    body = {"user_id": "u", "title": "Once", "send_at": later(), "idempotency_key": "rem-1"}
    first = post(client, auth, SEND, body)
    again = post(client, auth, SEND, body)
    assert first.status_code == again.status_code == 202
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.get("/api/v1/scheduled", headers=auth).json["scheduled"]) == 1
    changed = post(client, auth, SEND, {**body, "send_at": later(7200)})
    assert changed.status_code == 422 and changed.json["error"]["field"] == "idempotency_key"
    other = {"Authorization": f"Bearer {store.api_keys.create('other')[1]}"}
    theirs = post(client, other, SEND, body)
    assert theirs.status_code == 202 and theirs.json != first.json


def test_list_pages_soonest_first(client, auth):
    ids = [post(client, auth, SEND, {"user_id": "u", "title": f"n{i}",
                                     "send_at": later(3600 + 60 * (5 - i))}).json
           ["scheduled"]["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"after": cursor} if cursor else {})}
        page = client.get("/api/v1/scheduled", headers=auth, query_string=query).json
        seen += [item["id"] for item in page["scheduled"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    only = client.get("/api/v1/scheduled?kind=notifications&limit=100", headers=auth).json
    assert len(only["scheduled"]) == 5
    assert client.get("/api/v1/scheduled?kind=broadcasts", headers=auth).json["scheduled"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=x", "limit"), ("after=sch_1", "after"),
    ("after=../../x", "after"), ("kind=Not%20A%20Kind", "kind"),
])
def test_bad_list_arguments_are_422(client, auth, query, field):
    response = client.get(f"/api/v1/scheduled?{query}", headers=auth)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_cancel(client, auth, redis_client):
    schedule_id = post(client, auth, SEND, {"user_id": "u", "title": "t",
                                            "send_at": later()}).json["scheduled"]["id"]
    keep = post(client, auth, SEND, {"user_id": "u", "title": "k",
                                     "send_at": later()}).json["scheduled"]["id"]
    response = client.delete(f"/api/v1/scheduled/{schedule_id}", headers=auth)
    assert response.status_code == 204 and response.data == b""
    again = client.delete(f"/api/v1/scheduled/{schedule_id}", headers=auth)
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/scheduled/{schedule_id}", headers=auth).status_code == 404
    listed = client.get("/api/v1/scheduled", headers=auth).json["scheduled"]
    assert [item["id"] for item in listed] == [keep]


@pytest.mark.parametrize("bad", ["nope", "sch_" + "0" * 23, "sch_" + "G" * 24,
                                 "SCH_" + "0" * 24])
def test_malformed_schedule_ids_are_422(client, auth, bad):
    for method in ("GET", "DELETE"):
        response = client.open(f"/api/v1/scheduled/{bad}", method=method, headers=auth)
        assert response.status_code == 422 and response.json["error"]["field"] == "id"


def test_unknown_schedule_id_is_404(client, auth):
    for method in ("GET", "DELETE"):
        response = client.open("/api/v1/scheduled/sch_" + "0" * 24, method=method,
                               headers=auth)
        assert response.status_code == 404


def test_scheduled_routes_need_a_key(client):
    assert client.get("/api/v1/scheduled").status_code == 401
    assert client.delete("/api/v1/scheduled/sch_" + "0" * 24).status_code == 401
