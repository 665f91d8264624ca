"""The OpenAPI document matches the routes, and real responses match its schemas."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from notifier.api.openapi import openapi_document
from notifier.delivery.queue import Job
from notifier.delivery.records import Event
from notifier.stores.script_batch import ScriptBatch

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def documented_operations(doc) -> set[tuple[str, str]]:
    """(full path, method) of every operation: a path's own servers replace the document's."""
    found = set()
    for path, ops in doc["paths"].items():
        server = ops.get("servers", doc["servers"])[0]["url"].rstrip("/")
        found |= {(server + path, method.upper()) for method in ops if method.upper() in METHODS}
    return found


def routed_operations(app) -> set[tuple[str, str]]:
    """The API's routes, and the WebSocket's upgrade (GET /ws)."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") or rule.websocket:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            found |= {(path, method) for method in rule.methods & METHODS}
    return found


def test_every_route_is_documented_and_every_documented_path_exists(app):
    assert routed_operations(app) == documented_operations(openapi_document())


def test_served_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json["openapi"] == "3.1.0"
    for schema in response.json["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


@pytest.fixture
def check(client):
    doc = client.get("/api/v1/openapi.json").json
    registry = Registry().with_resource("urn:doc", Resource(doc, specification=DRAFT202012))
    seen = set()

    def validate(response, path: str, method: str):
        operation = doc["paths"][path][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
        documented = operation["responses"][status]
        if "content" not in documented:
            assert response.data == b"", f"{method} {path} {status} has an undocumented body"
            seen.add((path, method, status))
            return
        schema = documented["content"]["application/json"]["schema"]
        ref = {"$ref": "urn:doc" + schema["$ref"]}
        Draft202012Validator(ref, registry=registry).validate(response.json)
        seen.add((path, method, status))

    validate.seen = seen
    return validate


def test_responses_match_their_schemas(client, auth, check, store):
    def call(method, path, template, body=None, **query):
        response = client.open(f"/api/v1{path}", method=method, headers=auth,
                               data=body if isinstance(body, str) else json.dumps(body),
                               query_string=query)
        check(response, template, method)
        return response

    sent = call("POST", "/notifications", "/notifications",
                {"user_ids": ["u", "v"], "title": "t", "link": "https://x.example"})
    call("POST", "/notifications/batch", "/notifications/batch",
         {"notifications": [{"user_id": "u", "title": "b", "data": {"a": 1}}]})
    call("POST", "/notifications", "/notifications", {"user_id": "u"})
    call("POST", "/notifications", "/notifications", body="{")
    call("POST", "/sign-in-links", "/sign-in-links", {"user_id": "u", "next": "/inbox"})
    call("POST", "/sign-in-links", "/sign-in-links", {"user_id": "u", "next": "//x.example"})
    call("POST", "/sign-in-links", "/sign-in-links", body="{")
    call("GET", "/users/u/notifications", "/users/{user_id}/notifications", limit=1)
    call("GET", "/users/u/notifications", "/users/{user_id}/notifications", limit=0)
    call("GET", "/users/u/unread-count", "/users/{user_id}/unread-count")
    call("POST", "/users/u/notifications/read", "/users/{user_id}/notifications/read",
         {"all": True})
    first = sent.json["notifications"][0]["id"]
    call("DELETE", f"/users/u/notifications/{first}",
         "/users/{user_id}/notifications/{notification_id}")
    call("DELETE", f"/users/u/notifications/{first}",
         "/users/{user_id}/notifications/{notification_id}")
    made = call("POST", "/broadcasts", "/broadcasts", {
        "title": "m", "type": "maintenance", "starts_at": "2099-01-01T00:00:00Z",
        "ends_at": "2099-01-01T01:00:00Z"}).json["broadcast"]
    call("POST", "/broadcasts", "/broadcasts", {"title": "m", "type": "maintenance"})
    many = call("POST", "/notifications", "/notifications",
                {"user_id": "u", "tittle": "t", "priority": "loud"})
    assert len(many.json["error"]["errors"]) == 3
    call("POST", "/notifications", "/notifications", body="user_id=u&title=t")
    call("GET", "/broadcasts", "/broadcasts")
    call("GET", f"/broadcasts/{made['id']}", "/broadcasts/{broadcast_id}")
    call("GET", "/broadcasts/b1-0", "/broadcasts/{broadcast_id}")
    call("POST", f"/broadcasts/{made['id']}/end", "/broadcasts/{broadcast_id}/end")
    call("POST", f"/broadcasts/{made['id']}/end", "/broadcasts/{broadcast_id}/end")
    call("GET", "/users/u/notifications", "/users/{user_id}/notifications")
    call("POST", "/groups", "/groups", {"name": "g", "description": "d"})
    call("POST", "/groups", "/groups", {"name": "g"})
    call("GET", "/groups", "/groups")
    call("GET", "/groups/g", "/groups/{group}")
    call("PUT", "/groups/g/members/u", "/groups/{group}/members/{user_id}")
    call("PUT", "/groups/g/members/u", "/groups/{group}/members/{user_id}")
    call("GET", "/groups/g/members", "/groups/{group}/members")
    call("GET", "/groups/g/presence", "/groups/{group}/presence")
    call("GET", "/groups/none/presence", "/groups/{group}/presence")
    call("POST", "/groups/g/notifications", "/groups/{group}/notifications", {"title": "t"})
    call("POST", "/groups/zz/notifications", "/groups/{group}/notifications", {"title": "t"})
    at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = call("POST", "/notifications", "/notifications",
                     {"user_id": "u", "title": "later", "send_at": at})
    call("POST", "/notifications/batch", "/notifications/batch",
         {"notifications": [{"user_id": "u", "title": "b"}], "send_at": at})
    call("POST", "/notifications", "/notifications", {"user_id": "u", "title": "t",
                                                      "send_at": "2000-01-01T00:00:00Z"})
    call("GET", "/scheduled", "/scheduled", limit=1)
    call("GET", "/scheduled", "/scheduled", after="x")
    schedule_id = scheduled.json["scheduled"]["id"]
    call("GET", f"/scheduled/{schedule_id}", "/scheduled/{schedule_id}")
    call("GET", "/scheduled/nope", "/scheduled/{schedule_id}")
    call("DELETE", f"/scheduled/{schedule_id}", "/scheduled/{schedule_id}")
    call("DELETE", f"/scheduled/{schedule_id}", "/scheduled/{schedule_id}")
    call("GET", f"/scheduled/{schedule_id}", "/scheduled/{schedule_id}")
    store.presence.apply("worker", [("u", "+")])
    call("GET", "/presence", "/presence", limit=1)
    call("GET", "/presence", "/presence", limit=0)
    call("GET", "/presence", "/presence", cursor="u")
    call("GET", "/users/u/presence", "/users/{user_id}/presence")
    call("GET", "/users/nobody/presence", "/users/{user_id}/presence")
    call("GET", "/users/a%7Bb/presence", "/users/{user_id}/presence")
    kept = call("POST", "/notifications", "/notifications", {"user_id": "u", "title": "t"})
    kept_id = kept.json["notifications"][0]["id"]
    job = Job(job_id=f"{kept_id}:sms", user_id="u", channel="sms", notification_id=kept_id,
              notifications=({"id": kept_id},))
    batch = ScriptBatch(store.redis)
    store.deliveries.add(batch, job, [Event("sms", "retry", 1, "sms", "sms", "HTTP 500"),
                                      Event("sms", "held", 2)])
    batch.execute()
    timeline = "/notifications/{user_id}/{notification_id}/deliveries"
    assert len(call("GET", f"/notifications/u/{kept_id}/deliveries", timeline)
               .json["deliveries"]) == 2
    call("GET", f"/notifications/v/{kept_id}/deliveries", timeline)
    call("GET", "/notifications/u/nope/deliveries", timeline)
    detail = "/notifications/{user_id}/{notification_id}"
    assert call("GET", f"/notifications/u/{kept_id}", detail).json["deliveries"]
    call("GET", f"/notifications/v/{kept_id}", detail)
    call("GET", "/notifications/u/nope", detail)
    device = {"platform": "fcm", "token": "fcm-token:" + "a" * 40, "label": "Pixel"}
    made = call("POST", "/users/u/devices", "/users/{user_id}/devices", device)
    call("POST", "/users/u/devices", "/users/{user_id}/devices", device)
    call("POST", "/users/u/devices", "/users/{user_id}/devices", {"platform": "x"})
    call("POST", "/users/u/devices", "/users/{user_id}/devices", body="{")
    call("GET", "/users/u/devices", "/users/{user_id}/devices")
    device_path = f"/users/u/devices/{made.json['device']['id']}"
    call("DELETE", device_path, "/users/{user_id}/devices/{device_id}")
    call("DELETE", device_path, "/users/{user_id}/devices/{device_id}")
    call("DELETE", "/users/u/devices/nope", "/users/{user_id}/devices/{device_id}")
    kind = "/types/{type}"
    call("PUT", "/types/ci", kind, {"label": "Builds", "default_channels": ["email"]})
    call("PUT", "/types/ci", kind, {"label": "Builds", "user_can_disable": False})
    call("PUT", "/types/ci", kind, {"label": ""})
    call("PUT", "/types/Bad", kind, {"label": "x"})
    call("PUT", "/types/ci", kind, body="{")
    call("GET", "/types/ci", kind)
    call("GET", "/types/none", kind)
    call("GET", "/types", "/types")
    call("DELETE", "/types/ci", kind)
    call("DELETE", "/types/ci", kind)
    unauthorized = client.get("/api/v1/users/u/unread-count")
    check(unauthorized, "/users/{user_id}/unread-count", "GET")
    statuses = {status for _, _, status in check.seen}
    assert {"200", "201", "202", "204", "400", "401", "404", "409", "422"} <= statuses


def test_widget_responses_match_their_schemas(client, auth, check):
    from notifier.core import widget_tokens as tokens

    widget = {"Authorization": f"Bearer {tokens.mint('test-secret', 'w', 60, [])[0]}"}

    def call(method, path, template, body=None):
        response = client.open(f"/api/v1{path}", method=method, headers=widget,
                               data=body if isinstance(body, str) else json.dumps(body))
        check(response, template, method)
        return response

    sent = client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "w", "title": "t", "actions": [{"label": "Go", "url": "https://x.example"}]})
    nid = sent.json["notifications"][0]["id"]
    listed = call("GET", "/me/notifications", "/me/notifications")
    assert listed.json["notifications"][0]["actions"][0]["label"] == "Go"
    call("POST", "/me/notifications/seen", "/me/notifications/seen", {"ids": [nid]})
    call("POST", "/me/notifications/seen", "/me/notifications/seen", {"ids": "x"})
    clicks = "/me/notifications/{notification_id}/clicks"
    assert call("POST", f"/me/notifications/{nid}/clicks", clicks, {"target": 0}).json["url"]
    assert call("POST", f"/me/notifications/{nid}/clicks", clicks,
                {"target": "link"}).json == {"url": None}
    call("POST", f"/me/notifications/{nid}/clicks", clicks, {"target": 2})
    call("POST", "/me/notifications/x/clicks", clicks, {"target": 0})
    call("POST", f"/me/notifications/{nid}/clicks", clicks, body="{")
    client.put("/api/v1/types/ci", headers=auth, json={"label": "Builds"})
    chips = call("GET", "/me/types", "/me/types").json
    assert chips["labels"] == {"ci": "Builds"} and chips["untyped"] == "general"
    statuses = {(path, status) for path, _, status in check.seen}
    assert {(clicks, "200"), (clicks, "404"), (clicks, "422"), (clicks, "400")} <= statuses
