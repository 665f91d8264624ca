"""Threads through the service and widget APIs: the thread field on every kind of send
(validated, stored, returned), and reading a thread, which marks all of that user's
unread notifications of the thread read in one script and tells their streams."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.scheduling.scheduler import Runner

from conftest import TEST_PREFIX, subscribe

KEYS = Keys(TEST_PREFIX)
ORIGIN = "https://app.example.com"


def send(client, auth, user_id, title, **fields):
    response = client.post(
        "/api/v1/notifications", headers=auth, json={"user_id": user_id, "title": title, **fields}
    )
    assert response.status_code == 201, response.json
    return response.json["notifications"][0]["id"]


def listed(client, auth, user_id):
    response = client.get(f"/api/v1/users/{user_id}/notifications", headers=auth)
    assert response.status_code == 200, response.json
    return {n["title"]: n for n in response.json["notifications"]}


def unread(client, auth, user_id):
    return client.get(f"/api/v1/users/{user_id}/unread-count", headers=auth).json["unread"]


@pytest.mark.parametrize(
    "thread",
    ["", " pr-1", "-pr", "pr 1", "pr/1", "pr#1", "pr?1", "é", "x" * 101, 7, ["pr-1"], {"a": 1}],
)
def test_a_bad_thread_is_a_422_naming_it_and_stores_nothing(client, auth, redis_client, thread):
    response = client.post(
        "/api/v1/notifications",
        headers=auth,
        json={"user_id": "ann", "title": "hi", "thread": thread},
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "thread"
    assert redis_client.exists(KEYS.inbox("ann")) == 0


def test_every_kind_of_send_stores_and_returns_the_thread(app, client, auth):
    longest = "A" + "b" * 98 + "9"
    send(client, auth, "ann", "single", thread="pr-4411")
    send(client, auth, "ann", "plain")
    assert (
        client.post(
            "/api/v1/notifications",
            headers=auth,
            json={"user_ids": ["ann", "bob"], "title": "many", "thread": "build:7.1_x"},
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/notifications/batch",
            headers=auth,
            json={
                "notifications": [
                    {"user_id": "ann", "title": "batch", "thread": longest},
                    {"user_id": "ann", "title": "batch-plain"},
                ]
            },
        ).status_code
        == 201
    )
    client.post("/api/v1/groups", headers=auth, json={"name": "team"})
    client.put("/api/v1/groups/team/members/ann", headers=auth)
    assert (
        client.post(
            "/api/v1/groups/team/notifications",
            headers=auth,
            json={"title": "group", "thread": "pr-4411"},
        ).status_code
        == 201
    )
    soon = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    scheduled = client.post(
        "/api/v1/notifications",
        headers=auth,
        json={"user_id": "ann", "title": "scheduled", "thread": "pr-4411", "send_at": soon},
    )
    assert scheduled.status_code == 202, scheduled.json
    time.sleep(0.35)
    Runner(app).run_due()
    found = listed(client, auth, "ann")
    assert {title: n["thread"] for title, n in found.items()} == {
        "single": "pr-4411",
        "plain": None,
        "many": "build:7.1_x",
        "batch": longest,
        "batch-plain": None,
        "group": "pr-4411",
        "scheduled": "pr-4411",
    }
    assert listed(client, auth, "bob")["many"]["thread"] == "build:7.1_x"
    one = found["single"]
    got = client.get(f"/api/v1/notifications/ann/{one['id']}", headers=auth)
    assert got.status_code == 200


def test_broadcasts_carry_no_thread(client, auth):
    send(client, auth, "ann", "hello")  # ann gets broadcasts from now on
    refused = client.post(
        "/api/v1/broadcasts", headers=auth, json={"title": "Maintenance", "thread": "ops"}
    )
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "thread"
    assert (
        client.post(
            "/api/v1/broadcasts", headers=auth, json={"title": "Maintenance", "thread": None}
        ).status_code
        == 201
    )
    assert listed(client, auth, "ann")["Maintenance"]["thread"] is None


def test_reading_a_thread_reads_all_and_only_that_threads_items_of_that_user(
    client, auth, redis_client
):
    ann = [send(client, auth, "ann", f"pr {i}", thread="pr-4411") for i in range(3)]
    other = send(client, auth, "ann", "other thread", thread="pr-4412")
    plain = send(client, auth, "ann", "plain")
    # "thread" inside data is not the thread.
    decoy = send(client, auth, "ann", "decoy", data={"thread": "pr-4411"})
    bob = send(client, auth, "bob", "bob's", thread="pr-4411")
    client.post("/api/v1/users/ann/notifications/read", headers=auth, json={"ids": [ann[0]]})
    assert unread(client, auth, "ann") == 5
    pubsub = subscribe(redis_client, KEYS.user_channel("ann"))
    try:
        done = client.post("/api/v1/users/ann/threads/pr-4411/read", headers=auth)
        assert done.status_code == 200, done.json
        assert done.json == {"marked": 2, "unread": 3}
        message = pubsub.get_message(timeout=2)
        assert json.loads(message["data"]) == {"kind": "read", "ids": ann[1:], "unread": 3}
    finally:
        pubsub.close()
    found = listed(client, auth, "ann")
    assert [t for t, n in found.items() if not n["read"]] == ["decoy", "plain", "other thread"]
    assert {found[t]["id"] for t in ("decoy", "plain", "other thread")} == {decoy, plain, other}
    assert listed(client, auth, "bob")["bob's"]["read"] is False and bob
    # Each newly read one has its read receipt.
    receipt = client.get(f"/api/v1/notifications/ann/{ann[2]}", headers=auth).json
    assert receipt["receipts"]["read_at"] is not None
    # Again: nothing left to read, nothing published.
    again = client.post("/api/v1/users/ann/threads/pr-4411/read", headers=auth)
    assert again.json == {"marked": 0, "unread": 3}
    assert client.post("/api/v1/users/ann/threads/nope/read", headers=auth).json == {
        "marked": 0,
        "unread": 3,
    }


def test_reading_a_thread_spares_snoozed_and_expired_items(client, auth):
    kept = send(client, auth, "ann", "snoozed", thread="t1")
    send(client, auth, "ann", "unread", thread="t1")
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    client.post(
        "/api/v1/users/ann/notifications/snooze", headers=auth, json={"ids": [kept], "until": until}
    )
    done = client.post("/api/v1/users/ann/threads/t1/read", headers=auth)
    assert done.json == {"marked": 1, "unread": 0}
    back = client.post(
        "/api/v1/users/ann/notifications/unsnooze", headers=auth, json={"ids": [kept]}
    )
    assert back.json == {"unsnoozed": 1, "unread": 1}


@pytest.mark.parametrize("thread", ["-x", "a%20b", "x" * 101, "%C3%A9"])
def test_a_bad_thread_in_the_path_is_a_422_naming_it(client, auth, thread):
    response = client.post(f"/api/v1/users/ann/threads/{thread}/read", headers=auth)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "thread"


def test_reading_a_thread_needs_the_manage_scope(client, store):
    secret = store.api_keys.create("reader", scopes=["read"])[1]
    response = client.post(
        "/api/v1/users/ann/threads/pr-1/read", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 403


def test_the_widget_reads_its_own_users_thread(client, auth, store):
    store.api_keys.create("host", origins=[ORIGIN])
    mine = [send(client, auth, "ann", f"c{i}", thread="pr-9") for i in range(2)]
    theirs = send(client, auth, "bob", "bob's", thread="pr-9")
    token = tokens.mint("test-secret", "ann", 300, [ORIGIN])[0]
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    done = client.post("/api/v1/me/threads/pr-9/read", headers=headers)
    assert done.status_code == 200, done.json
    assert done.json == {"marked": 2, "unread": 0}
    assert done.headers["Access-Control-Allow-Origin"] == ORIGIN
    page = client.get("/api/v1/me/notifications", headers=headers).json["notifications"]
    assert [(n["id"], n["thread"], n["read"]) for n in page] == [
        (mine[1], "pr-9", True),
        (mine[0], "pr-9", True),
    ]
    assert unread(client, auth, "bob") == 1 and theirs
    bad = client.post("/api/v1/me/threads/-x/read", headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "thread"
