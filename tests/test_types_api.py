"""Described notification types: the API, their validation, and how their default
channels and locks reach routing and preference writes."""

import json

import httpx
import pytest
from test_preferences import next_event, published

SECURITY = {"label": "Security alerts", "description": "Sign-ins from new devices.",
            "default_channels": ["email", "in_app"], "user_can_disable": False,
            "category": "Account"}


def put(client, auth, slug, body):
    return client.put(f"/api/v1/types/{slug}", headers=auth, data=json.dumps(body))


def test_put_get_list_and_delete(client, auth):
    made = put(client, auth, "security", SECURITY)
    assert made.status_code == 201
    doc = made.json
    # Channels are kept in the settings page's order, whatever order they came in.
    assert {k: v for k, v in doc.items() if k != "updated_at"} == {
        **SECURITY, "type": "security", "default_channels": ["in_app", "email"]}
    assert doc["updated_at"].endswith("Z")
    assert client.get("/api/v1/types/security", headers=auth).json == doc
    again = put(client, auth, "security", {"label": "Security"})
    assert again.status_code == 200
    assert again.json["label"] == "Security" and again.json["default_channels"] is None
    assert again.json["user_can_disable"] is True and again.json["description"] == ""
    put(client, auth, "billing.invoice", {"label": "Invoices"})
    listed = client.get("/api/v1/types", headers=auth).json["types"]
    assert [t["type"] for t in listed] == ["billing.invoice", "security"]
    assert client.delete("/api/v1/types/security", headers=auth).status_code == 204
    assert client.delete("/api/v1/types/security", headers=auth).status_code == 404
    missing = client.get("/api/v1/types/security", headers=auth)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert [t["type"] for t in client.get("/api/v1/types", headers=auth).json["types"]] == [
        "billing.invoice"]


@pytest.mark.parametrize("body, field", [
    ({}, "label"),
    ({"label": ""}, "label"),
    ({"label": "x" * 81}, "label"),
    ({"label": "two\nlines"}, "label"),
    ({"label": "   "}, "label"),
    ({"label": 5}, "label"),
    ({"label": "ok", "description": "x" * 301}, "description"),
    ({"label": "ok", "default_channels": ["fax"]}, "default_channels[0]"),
    ({"label": "ok", "default_channels": ["email", "email"]}, "default_channels"),
    ({"label": "ok", "default_channels": "email"}, "default_channels"),
    ({"label": "ok", "user_can_disable": "no"}, "user_can_disable"),
    ({"label": "ok", "category": "x" * 41}, "category"),
    ({"label": "ok", "colour": "red"}, "colour"),
])
def test_every_bad_field_is_named(client, auth, body, field):
    refused = put(client, auth, "ci", body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["field"] == field
    assert client.get("/api/v1/types/ci", headers=auth).status_code == 404


def test_bad_slugs_and_bodies(client, auth):
    for slug in ("Upper", "-dash", "x" * 65, "*"):
        refused = put(client, auth, slug, {"label": "x"})
        assert refused.status_code == 422 and refused.json["error"]["field"] == "type", slug
        assert client.get(f"/api/v1/types/{slug}", headers=auth).status_code == 422
        assert client.delete(f"/api/v1/types/{slug}", headers=auth).status_code == 422
    not_json = client.put("/api/v1/types/ci", headers=auth, data="{")
    assert not_json.status_code == 400 and not_json.json["error"]["field"] == "body"
    listed = client.put("/api/v1/types/ci", headers=auth, data="[]")
    assert listed.status_code == 422


def test_the_routes_need_a_key_and_its_scopes(client, store):
    assert client.get("/api/v1/types").status_code == 401
    assert client.put("/api/v1/types/ci", json={"label": "CI"}).status_code == 401
    reader = {"Authorization": f"Bearer {store.api_keys.create('r', scopes=('read',))[1]}"}
    assert client.get("/api/v1/types", headers=reader).status_code == 200
    refused = client.put("/api/v1/types/ci", headers=reader, json={"label": "CI"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "insufficient_scope"
    assert client.delete("/api/v1/types/ci", headers=reader).status_code == 403


def test_default_channels_are_what_a_user_who_never_set_the_switch_gets(
        client, auth, store, redis_client):
    put(client, auth, "digest", {"label": "Weekly digest", "default_channels": ["email"]})
    client.put("/api/v1/users/own/preferences", headers=auth,
               json={"channels": {"digest": {"in_app": True}}})
    subscriptions = {u: published(redis_client, store, u) for u in ("plain", "own")}
    client.post("/api/v1/notifications", headers=auth, json={
        "user_ids": ["plain", "own"], "title": "Your week", "type": "digest"})
    events = {u: next_event(p) for u, p in subscriptions.items()}
    assert events["plain"].get("live") is False  # in_app is not one of its defaults
    assert "live" not in events["own"]  # the user's own switch wins
    decided = store.preferences.for_routing(["plain"])["plain"]
    assert [c for c in ("in_app", "web_push", "email", "mobile_push", "sms")
            if decided.enabled("digest", c)] == ["email"]
    # Forgotten: the type follows the default row again, at once in this process.
    assert client.delete("/api/v1/types/digest", headers=auth).status_code == 204
    client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "plain", "title": "Again", "type": "digest"})
    assert "live" not in next_event(subscriptions["plain"])


def test_a_locked_type_cannot_be_turned_off(client, auth, store):
    put(client, auth, "security", SECURITY)
    refused = client.put("/api/v1/users/u/preferences", headers=auth, json={
        "channels": {"security": {"email": False, "sms": True}, "*": {"email": False}}})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "channels.security.email"
    assert store.preferences.load("u").switches == {}
    # The default row off, or a channel the type does not keep on: allowed.
    assert client.put("/api/v1/users/u/preferences", headers=auth, json={
        "channels": {"security": {"sms": True, "web_push": False},
                     "*": {"email": False, "in_app": False}}}).status_code == 200
    prefs = store.preferences.load("u")
    assert [c for c in ("in_app", "web_push", "email", "mobile_push", "sms")
            if prefs.enabled("security", c)] == ["in_app", "email", "sms"]
    assert not prefs.enabled("other", "email")


def test_a_type_change_reaches_every_server_worker_before_the_next_send(
        live_server, api_key, store, redis_client):
    """Both gunicorn workers keep a copy of the described types; a PUT through either
    decides the very next send on both."""
    auth = {"Authorization": f"Bearer {api_key}"}
    pubsub = published(redis_client, store, "typed")

    def send_on_new_connections(count: int) -> list[dict]:
        for number in range(count):
            with httpx.Client(base_url=live_server.url, timeout=10) as http:
                sent = http.post("/api/v1/notifications", headers=auth, json={
                    "user_id": "typed", "title": f"n{number}", "type": "quiet.kind"})
                assert sent.status_code == 201, sent.text
        return [next_event(pubsub) for _ in range(count)]

    assert all("live" not in event for event in send_on_new_connections(12))
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.put("/api/v1/types/quiet.kind", headers=auth, json={
            "label": "Quiet", "default_channels": ["email"]}).status_code == 201
    assert all(event.get("live") is False for event in send_on_new_connections(12))
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.delete("/api/v1/types/quiet.kind", headers=auth).status_code == 204
    assert all("live" not in event for event in send_on_new_connections(12))
