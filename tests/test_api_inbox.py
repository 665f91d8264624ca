"""Reading inboxes through the API: pages, unread state, delete, expiry, trimming."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from notifier import create_app
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, app_config, subscribe

KEYS = Keys(TEST_PREFIX)


def send_many(client, auth, user_id, count, **fields):
    items = [{"user_id": user_id, "title": f"n{i}", **fields} for i in range(count)]
    response = client.post("/api/v1/notifications/batch", data=json.dumps(
        {"notifications": items}), headers=auth)
    assert response.status_code == 201
    return [n["id"] for n in response.json["notifications"]]


def listing(client, auth, user_id, **query):
    response = client.get(f"/api/v1/users/{user_id}/notifications", query_string=query,
                          headers=auth)
    assert response.status_code == 200, response.json
    return response.json


def unread(client, auth, user_id) -> int:
    return client.get(f"/api/v1/users/{user_id}/unread-count", headers=auth).json["unread"]


def test_pages_walk_everything_newest_first_without_gaps(client, auth):
    ids = send_many(client, auth, "u", 120)
    seen, cursor = [], None
    while True:
        page = listing(client, auth, "u", limit=50, **({"before": cursor} if cursor else {}))
        seen += [n["id"] for n in page["notifications"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_notification_shape(client, auth):
    client.post("/api/v1/notifications", headers=auth, data=json.dumps({
        "user_id": "u", "title": "T", "body": "B", "type": "mention", "priority": "urgent",
        "link": "https://example.com/a", "data": {"thread": 7}}))
    [item] = listing(client, auth, "u")["notifications"]
    assert item.pop("id")
    created = datetime.fromisoformat(item.pop("created_at"))
    assert abs((datetime.now(UTC) - created).total_seconds()) < 5
    assert item == {"user_id": "u", "type": "mention", "title": "T", "body": "B",
                    "data": {"thread": 7}, "priority": "urgent",
                    "link": "https://example.com/a", "expires_at": None, "read": False,
                    "source": "direct", "group": None, "starts_at": None, "ends_at": None,
                    "actions": [], "thread": None}


def test_users_never_see_each_other(client, auth):
    send_many(client, auth, "alice", 3)
    send_many(client, auth, "bob", 2)
    assert {n["user_id"] for n in listing(client, auth, "alice")["notifications"]} == {"alice"}
    assert len(listing(client, auth, "bob")["notifications"]) == 2
    assert unread(client, auth, "alice") == 3 and unread(client, auth, "carol") == 0


def test_mark_some_read(client, auth):
    ids = send_many(client, auth, "u", 5)
    response = client.post("/api/v1/users/u/notifications/read", headers=auth,
                           data=json.dumps({"ids": [ids[0], ids[3], ids[3], "1-1"]}))
    assert response.json == {"marked": 2, "unread": 3}
    again = client.post("/api/v1/users/u/notifications/read", headers=auth,
                        data=json.dumps({"ids": [ids[0]]}))
    assert again.json == {"marked": 0, "unread": 3}
    page = listing(client, auth, "u")["notifications"]
    assert {n["id"] for n in page if n["read"]} == {ids[0], ids[3]}
    only_unread = listing(client, auth, "u", unread=1)["notifications"]
    assert [n["id"] for n in only_unread] == [ids[4], ids[2], ids[1]]


def test_mark_all_read_up_to_the_newest_shown(client, auth):
    shown = send_many(client, auth, "u", 3)
    arrived_later = send_many(client, auth, "u", 2)
    response = client.post("/api/v1/users/u/notifications/read", headers=auth,
                           data=json.dumps({"all": True, "up_to": shown[-1]}))
    assert response.json == {"marked": 3, "unread": 2}
    unread_ids = [n["id"] for n in listing(client, auth, "u", unread=1)["notifications"]]
    assert unread_ids == list(reversed(arrived_later))
    everything = client.post("/api/v1/users/u/notifications/read", headers=auth,
                             data=json.dumps({"all": True}))
    assert everything.json == {"marked": 2, "unread": 0}


def test_delete(client, auth):
    ids = send_many(client, auth, "u", 3)
    response = client.delete(f"/api/v1/users/u/notifications/{ids[1]}", headers=auth)
    assert response.status_code == 200 and response.json == {"deleted": ids[1], "unread": 2}
    assert [n["id"] for n in listing(client, auth, "u")["notifications"]] == [ids[2], ids[0]]
    gone = client.delete(f"/api/v1/users/u/notifications/{ids[1]}", headers=auth)
    assert gone.status_code == 404 and gone.json["error"]["code"] == "not_found"
    # Only ids match the route: anything else names no notification at all.
    bad = client.delete("/api/v1/users/u/notifications/not-an-id", headers=auth)
    assert bad.status_code == 404 and bad.json["error"]["code"] == "not_found"
    too_big = client.delete("/api/v1/users/u/notifications/99999999999999999999-0",
                            headers=auth)
    assert too_big.status_code == 422 and too_big.json["error"]["field"] == "id"


def test_cannot_delete_through_another_user(client, auth):
    [bobs] = send_many(client, auth, "bob", 1)
    response = client.delete(f"/api/v1/users/alice/notifications/{bobs}", headers=auth)
    assert response.status_code == 404
    assert len(listing(client, auth, "bob")["notifications"]) == 1


def test_expired_notifications_disappear(client, auth):
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    send_many(client, auth, "u", 2, expires_at=soon)
    [kept] = send_many(client, auth, "u", 1, expires_at=later)
    assert unread(client, auth, "u") == 3
    time.sleep(1.1)
    assert unread(client, auth, "u") == 0 + 1
    assert [n["id"] for n in listing(client, auth, "u")["notifications"]] == [kept]


@pytest.mark.parametrize("query, field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"),
    ({"before": "nope"}, "before"), ({"unread": "maybe"}, "unread"),
])
def test_bad_listing_queries(client, auth, query, field):
    response = client.get("/api/v1/users/u/notifications", query_string=query, headers=auth)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_bad_user_id_in_path(client, auth):
    for path in ("/api/v1/users/a*b/unread-count", "/api/v1/users/" + "x" * 65 + "/notifications"):
        response = client.get(path, headers=auth)
        assert response.status_code == 422 and response.json["error"]["field"] == "user_id"


def test_trimming_keeps_the_cap_and_the_count_true(redis_server, redis_client, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, INBOX_MAX=20))
    client = app.test_client()
    with app.app_context():
        from notifier.backend import backend

        auth = {"Authorization": f"Bearer {backend().api_keys.create('t')[1]}"}
    ids = send_many(client, auth, "u", 250)
    length = redis_client.xlen(KEYS.inbox("u"))
    assert 20 <= length <= 20 + 100
    kept = {e[0].decode() for e in redis_client.xrange(KEYS.inbox("u"))}
    assert kept == set(ids[-length:])
    assert unread(client, auth, "u") == length
    assert {m.decode() for m in redis_client.zrange(KEYS.unread("u"), 0, -1)} == kept


def test_every_write_is_published_with_its_stream_id(client, auth, redis_client):
    pubsub = subscribe(redis_client, KEYS.user_channel("u"))
    ids = send_many(client, auth, "u", 2)
    client.post("/api/v1/users/u/notifications/read", headers=auth,
                data=json.dumps({"ids": [ids[0]]}))
    client.delete(f"/api/v1/users/u/notifications/{ids[1]}", headers=auth)
    messages = [json.loads(pubsub.get_message(timeout=1)["data"]) for _ in range(4)]
    assert [(m["kind"], m.get("id"), m["unread"]) for m in messages[:2]] == [
        ("notification", ids[0], 1), ("notification", ids[1], 2)]
    assert messages[0]["notification"]["title"] == "n0"
    assert messages[2] == {"kind": "read", "ids": [ids[0]], "unread": 1}
    assert messages[3] == {"kind": "deleted", "ids": [ids[1]], "unread": 0}
    pubsub.close()
