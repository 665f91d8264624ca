"""Groups: membership, sends fanned out to members' inboxes, and their limits."""

import json

import pytest

from conftest import TEST_PREFIX, all_keys


def post(api, auth, path, body):
    return api.post(f"/api/v1{path}", headers=auth, data=json.dumps(body))


def titles(api, auth, user_id):
    items = api.get(f"/api/v1/users/{user_id}/notifications", headers=auth).json
    return [(i["title"], i["source"], i["group"]) for i in items["notifications"]]


@pytest.fixture
def team(client, auth):
    assert post(client, auth, "/groups", {"name": "team", "description": "The team"}
                ).status_code == 201
    for user in ("ann", "bob"):
        assert client.put(f"/api/v1/groups/team/members/{user}", headers=auth).status_code == 201
    return "team"


def test_create_get_list_and_delete(client, auth, team):
    assert client.get("/api/v1/groups/team", headers=auth).json == {
        "name": "team", "description": "The team",
        "created_at": client.get("/api/v1/groups/team", headers=auth).json["created_at"],
        "members": 2}
    again = post(client, auth, "/groups", {"name": "team"})
    assert again.status_code == 409 and again.json["error"]["field"] == "name"
    post(client, auth, "/groups", {"name": "alpha"})
    page = client.get("/api/v1/groups?limit=1", headers=auth).json
    assert [g["name"] for g in page["groups"]] == ["alpha"] and page["next"] == "alpha"
    rest = client.get("/api/v1/groups?limit=1&after=alpha", headers=auth).json
    assert [g["name"] for g in rest["groups"]] == ["team"] and rest["next"] is None
    assert client.delete("/api/v1/groups/team", headers=auth).status_code == 204
    assert client.get("/api/v1/groups/team", headers=auth).status_code == 404
    assert client.delete("/api/v1/groups/team", headers=auth).status_code == 404


def test_membership_changes(client, auth, team):
    again = client.put("/api/v1/groups/team/members/ann", headers=auth)
    assert again.status_code == 200 and again.json["added"] is False
    assert client.get("/api/v1/groups/team/members", headers=auth).json == {
        "members": ["ann", "bob"], "next": None}
    assert client.delete("/api/v1/groups/team/members/ann", headers=auth).status_code == 204
    assert client.delete("/api/v1/groups/team/members/ann", headers=auth).status_code == 404
    assert client.get("/api/v1/groups/team/members", headers=auth).json["members"] == ["bob"]
    assert client.put("/api/v1/groups/nope/members/ann", headers=auth).status_code == 404
    assert client.get("/api/v1/groups/nope/members", headers=auth).status_code == 404


@pytest.mark.parametrize(("method", "path", "field"), [
    ("put", "/api/v1/groups/Team!/members/ann", "group"),
    ("put", "/api/v1/groups/team/members/a%20b", "user_id"),
    ("get", "/api/v1/groups/team/members?limit=0", "limit"),
    ("post", "/api/v1/groups/team/notifications", "title"),
])
def test_bad_input_names_the_field(client, auth, team, method, path, field):
    response = getattr(client, method)(path, headers=auth, data="{}")
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_bad_group_bodies(client, auth, redis_client):
    for body, field in (({"name": "Upper"}, "name"), ({"name": "x", "extra": 1}, "extra"),
                        ({}, "name")):
        response = post(client, auth, "/groups", body)
        assert response.status_code == 422 and response.json["error"]["field"] == field
    # Nothing half-written: no group, no membership, no index entry.
    assert not all_keys(redis_client, f"{TEST_PREFIX}:{{g:*") + all_keys(redis_client,
        f"{TEST_PREFIX}:groups*")


def test_send_reaches_members_only_and_later_members_miss_older_sends(client, auth, team):
    sent = post(client, auth, "/groups/team/notifications", {"title": "Standup in 5"})
    assert sent.status_code == 201
    assert sorted(n["user_id"] for n in sent.json["notifications"]) == ["ann", "bob"]
    client.put("/api/v1/groups/team/members/cat", headers=auth)
    post(client, auth, "/groups/team/notifications", {"title": "Retro at 4"})
    assert titles(client, auth, "ann") == [("Retro at 4", "group", "team"),
                                           ("Standup in 5", "group", "team")]
    assert titles(client, auth, "cat") == [("Retro at 4", "group", "team")]
    client.delete("/api/v1/groups/team/members/bob", headers=auth)
    post(client, auth, "/groups/team/notifications", {"title": "Lunch"})
    assert [t for t, *_ in titles(client, auth, "bob")] == ["Retro at 4", "Standup in 5"]
    assert titles(client, auth, "dan") == []


def test_a_retried_group_send_does_not_send_twice(client, auth, team, redis_client):
    body = {"title": "Deploy done", "idempotency_key": "deploy-42"}
    first = post(client, auth, "/groups/team/notifications", body)
    client.put("/api/v1/groups/team/members/cat", headers=auth)  # joins between attempts
    again = post(client, auth, "/groups/team/notifications", body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert titles(client, auth, "cat") == []
    assert len(titles(client, auth, "ann")) == 1
    post(client, auth, "/groups", {"name": "other"})
    client.put("/api/v1/groups/other/members/ann", headers=auth)
    reused = post(client, auth, "/groups/other/notifications", body)
    assert reused.status_code == 422 and reused.json["error"]["field"] == "idempotency_key"


def test_big_groups_send_in_chunks_and_have_a_cap(app, client, auth, redis_client):
    post(client, auth, "/groups", {"name": "big"})
    groups = app.extensions["notifier"].groups
    members = [f"u{i}" for i in range(2500)]
    redis_client.zadd(groups.keys.group_members("big"), {m: 1 for m in members})
    sent = post(client, auth, "/groups/big/notifications", {"title": "All hands"})
    assert sent.status_code == 201 and len(sent.json["notifications"]) == 2500
    assert titles(client, auth, "u2499") == [("All hands", "group", "big")]
    groups.max_members = 2500
    full = client.put("/api/v1/groups/big/members/one-more", headers=auth)
    assert full.status_code == 409 and full.json["error"]["code"] == "group_full"


def test_group_presence_lists_the_online_members(client, auth, team, store):
    store.presence.apply("worker-a", [("bob", "+"), ("zed", "+")])  # zed is no member
    assert client.get("/api/v1/groups/team/presence", headers=auth).json == {
        "group": "team", "members": 2, "online": 1, "users": ["bob"]}
    store.presence.apply("worker-a", [("bob", "-")])
    assert client.get("/api/v1/groups/team/presence", headers=auth).json["users"] == []
    assert client.get("/api/v1/groups/nope/presence", headers=auth).status_code == 404
