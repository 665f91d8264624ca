"""Actions, and seen / read / clicked receipts: the sender's view, the widget API, the inbox
page and push click links, over the app with a real Redis."""

import json
from datetime import datetime

import pytest

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.delivery.channels.webpush import payload
from notifier.model.channels import Message
from notifier.stores.clicks import click_token

from conftest import TEST_PREFIX, csrf_from

KEYS = Keys(TEST_PREFIX)
ORIGIN = "https://app.example.com"
ACTIONS = [{"label": "Approve", "url": "https://example.com/approve?id=7"},
           {"label": "Reject", "url": "https://example.com/reject?id=7"}]


def send(client, auth, user_id, title="Expense report", **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           json={"user_id": user_id, "title": title, **fields})
    assert response.status_code == 201, response.json
    return response.json["notifications"][0]["id"]


def widget(user_id):
    """Headers of a widget page on ORIGIN holding a token for ``user_id``."""
    token = tokens.mint("test-secret", user_id, 300, [ORIGIN])[0]
    return {"Authorization": f"Bearer {token}", "Origin": ORIGIN}


def receipts(client, auth, user_id, notification_id):
    response = client.get(f"/api/v1/notifications/{user_id}/{notification_id}", headers=auth)
    assert response.status_code == 200, response.json
    return response.json["receipts"]


def when(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


# -- actions ------------------------------------------------------------------------

def test_actions_are_stored_and_listed(client, auth):
    nid = send(client, auth, "ann", actions=ACTIONS)
    plain = send(client, auth, "ann", title="No buttons")
    listed = {n["id"]: n for n in client.get("/api/v1/users/ann/notifications",
                                             headers=auth).json["notifications"]}
    assert listed[nid]["actions"] == ACTIONS
    assert listed[plain]["actions"] == []


@pytest.mark.parametrize(("actions", "field"), [
    ([{"label": "A", "url": "https://a.example"}] * 4, "actions"),
    ([{"label": "Go", "url": "javascript:alert(1)"}], "actions[0].url"),
    ([{"label": "Go", "url": "/relative"}], "actions[0].url"),
    ([{"label": "   ", "url": "https://a.example"}], "actions[0].label"),
    ([{"label": "x" * 41, "url": "https://a.example"}], "actions[0].label"),
    ([{"label": "Go"}], "actions[0].url"),
    ([{"label": "Go", "url": "https://a.example", "style": "danger"}], "actions[0].style"),
    ("Approve", "actions"),
])
def test_bad_actions_are_422_naming_the_field_and_store_nothing(client, auth, redis_client,
                                                                 actions, field):
    response = client.post("/api/v1/notifications", headers=auth,
                           json={"user_id": "bad", "title": "t", "actions": actions})
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert not redis_client.exists(KEYS.inbox("bad"))


def test_broadcasts_take_no_actions(client, auth):
    response = client.post("/api/v1/broadcasts", headers=auth,
                           json={"title": "Hello", "actions": ACTIONS[:1]})
    assert response.status_code == 422 and response.json["error"]["field"] == "actions"


# -- receipts for the sender --------------------------------------------------------

def test_a_new_notification_has_no_receipts_and_its_content(client, auth):
    nid = send(client, auth, "ann", actions=ACTIONS)
    body = client.get(f"/api/v1/notifications/ann/{nid}", headers=auth).json
    assert body["notification"]["id"] == nid and body["notification"]["actions"] == ACTIONS
    assert body["receipts"] == {"seen_at": None, "read_at": None, "clicked_at": None,
                                "clicked": None}
    assert body["deliveries"] == []


def test_unknown_or_other_users_notification_is_404(client, auth):
    nid = send(client, auth, "ann")
    assert client.get(f"/api/v1/notifications/bob/{nid}", headers=auth).status_code == 404
    assert client.get("/api/v1/notifications/ann/1-0", headers=auth).status_code == 404
    bad = client.get("/api/v1/notifications/ann/nope", headers=auth)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "notification_id"
    assert client.get(f"/api/v1/notifications/ann/{nid}").status_code == 401


def test_seen_is_recorded_once_and_only_for_the_tokens_user(client, auth):
    nid = send(client, auth, "ann")
    bobs = send(client, auth, "bob")
    first = client.post("/api/v1/me/notifications/seen", headers=widget("ann"),
                        json={"ids": [nid, bobs, "b1-0"]})
    assert first.status_code == 200 and first.json == {"seen": [nid]}
    seen_at = receipts(client, auth, "ann", nid)["seen_at"]
    assert seen_at is not None
    again = client.post("/api/v1/me/notifications/seen", headers=widget("ann"),
                        json={"ids": [nid]})
    assert again.json == {"seen": []}
    assert receipts(client, auth, "ann", nid)["seen_at"] == seen_at  # the first time stays
    assert receipts(client, auth, "bob", bobs)["seen_at"] is None  # ann cannot touch bob's


@pytest.mark.parametrize(("body", "field"), [
    ({"ids": []}, "ids"), ({"ids": ["x"]}, "ids[0]"), ({"ids": ["1-0"] * 101}, "ids"),
    ({}, "ids"), (["1-0"], None),
])
def test_bad_seen_bodies_are_422(client, body, field):
    response = client.post("/api/v1/me/notifications/seen", headers=widget("ann"), json=body)
    assert response.status_code == 422 and response.json["error"].get("field") == field


def test_reading_records_read_at_and_seen_at(client, auth, redis_client):
    nid, other = send(client, auth, "ann"), send(client, auth, "ann")
    client.post("/api/v1/me/notifications/read", headers=widget("ann"), json={"ids": [nid]})
    marked = receipts(client, auth, "ann", nid)
    assert marked["read_at"] is not None and marked["seen_at"] == marked["read_at"]
    assert receipts(client, auth, "ann", other)["read_at"] is None
    client.post("/api/v1/users/ann/notifications/read", headers=auth, json={"all": True})
    assert receipts(client, auth, "ann", other)["read_at"] is not None
    assert receipts(client, auth, "ann", nid)["read_at"] == marked["read_at"]
    assert 0 < redis_client.ttl(KEYS.receipts("ann", nid)) <= 90 * 86400


def test_a_click_records_which_target_and_reads_it(client, auth):
    nid = send(client, auth, "ann", link="https://example.com/report", actions=ACTIONS)
    response = client.post(f"/api/v1/me/notifications/{nid}/clicks", headers=widget("ann"),
                           json={"target": 1})
    assert response.status_code == 200 and response.json == {"url": ACTIONS[1]["url"]}
    first = receipts(client, auth, "ann", nid)
    assert first["clicked"] == "1" and first["clicked_at"] is not None
    assert first["read_at"] is not None and first["seen_at"] is not None
    assert when(first["seen_at"]) <= when(first["clicked_at"])
    link = client.post(f"/api/v1/me/notifications/{nid}/clicks", headers=widget("ann"),
                       json={"target": "link"})
    assert link.json == {"url": "https://example.com/report"}
    assert receipts(client, auth, "ann", nid) == first  # the first click is what is kept
    unread = client.get("/api/v1/users/ann/unread-count", headers=auth).json["unread"]
    assert unread == 0


@pytest.mark.parametrize(("target", "status", "field"), [
    (2, 404, "target"), (3, 422, "target"), ("0", 422, "target"), ("open", 422, "target"),
    (None, 422, "target"),
])
def test_bad_click_targets(client, auth, target, status, field):
    nid = send(client, auth, "ann", actions=ACTIONS)
    response = client.post(f"/api/v1/me/notifications/{nid}/clicks", headers=widget("ann"),
                           json={"target": target})
    assert response.status_code == status and response.json["error"]["field"] == field
    assert receipts(client, auth, "ann", nid)["clicked_at"] is None


def test_a_click_on_another_users_notification_is_404(client, auth):
    bobs = send(client, auth, "bob", actions=ACTIONS)
    response = client.post(f"/api/v1/me/notifications/{bobs}/clicks", headers=widget("ann"),
                           json={"target": 0})
    assert response.status_code == 404
    assert receipts(client, auth, "bob", bobs)["clicked_at"] is None


def test_deleting_a_notification_deletes_its_receipts(client, auth, redis_client):
    nid = send(client, auth, "ann")
    client.post("/api/v1/me/notifications/seen", headers=widget("ann"), json={"ids": [nid]})
    assert redis_client.exists(KEYS.receipts("ann", nid))
    client.delete(f"/api/v1/me/notifications/{nid}", headers=widget("ann"))
    assert not redis_client.exists(KEYS.receipts("ann", nid))
    assert client.get(f"/api/v1/notifications/ann/{nid}", headers=auth).status_code == 404


def test_seen_after_delete_creates_nothing(client, auth, redis_client):
    nid = send(client, auth, "ann")
    client.delete(f"/api/v1/me/notifications/{nid}", headers=widget("ann"))
    client.post("/api/v1/me/notifications/seen", headers=widget("ann"), json={"ids": [nid]})
    assert not redis_client.exists(KEYS.receipts("ann", nid))


# -- the inbox page -----------------------------------------------------------------

def test_the_inbox_page_marks_what_it_shows_seen_and_renders_actions(signed_in, auth, client):
    nid = send(client, auth, "alice", title="<b>Quarterly</b>",
               actions=[{"label": "<i>Open</i>", "url": "https://example.com/q"}])
    page = client.get("/inbox").text
    assert "&lt;i&gt;Open&lt;/i&gt;" in page and "<i>Open</i>" not in page
    assert f'action="/inbox/{nid}/click"' in page
    assert receipts(client, auth, "alice", nid)["seen_at"] is not None


def test_an_action_form_records_the_click_and_redirects(signed_in, auth, client):
    nid = send(client, auth, "alice", actions=ACTIONS)
    csrf = csrf_from(client.get("/inbox").text)
    refused = client.post(f"/inbox/{nid}/click", data={"target": "0"})
    assert refused.status_code == 400  # no CSRF token
    assert receipts(client, auth, "alice", nid)["clicked_at"] is None
    response = client.post(f"/inbox/{nid}/click", data={"target": "0", "csrf_token": csrf})
    assert response.status_code == 303 and response.headers["Location"] == ACTIONS[0]["url"]
    assert receipts(client, auth, "alice", nid)["clicked"] == "0"
    missing = client.post(f"/inbox/{nid}/click", data={"target": "2", "csrf_token": csrf})
    assert missing.status_code == 404


def test_a_link_less_click_goes_to_the_inbox(signed_in, auth, client):
    nid = send(client, auth, "alice")
    csrf = csrf_from(client.get("/inbox").text)
    response = client.post(f"/inbox/{nid}/click", data={"target": "link", "csrf_token": csrf})
    assert response.status_code == 303 and response.headers["Location"] == "/inbox"


def test_the_page_reports_live_notifications_seen(signed_in, auth, client):
    csrf = csrf_from(client.get("/inbox").text)
    nid = send(client, auth, "alice")
    response = client.post("/inbox/seen", data={"id": [nid], "csrf_token": csrf})
    assert response.status_code == 204
    assert receipts(client, auth, "alice", nid)["seen_at"] is not None
    assert client.post("/inbox/seen", data={"id": ["x"], "csrf_token": csrf}).status_code == 400


# -- push click links ---------------------------------------------------------------

def test_a_signed_click_link_records_and_redirects_to_the_stored_url(client, auth):
    nid = send(client, auth, "ann", link="https://example.com/report", actions=ACTIONS)
    token = click_token("test-secret", "ann", nid)
    response = client.get(f"/r/{token}?target=1")
    assert response.status_code == 303 and response.headers["Location"] == ACTIONS[1]["url"]
    assert receipts(client, auth, "ann", nid)["clicked"] == "1"
    assert client.get(f"/r/{token}").headers["Location"] == "https://example.com/report"


def test_a_forged_or_foreign_click_link_is_404(client, auth):
    nid = send(client, auth, "ann", actions=ACTIONS)
    assert client.get(f"/r/{click_token('other-secret', 'ann', nid)}").status_code == 404
    assert client.get(f"/r/{click_token('test-secret', 'bob', nid)}").status_code == 404
    assert client.get("/r/garbage?target=0").status_code == 404
    assert receipts(client, auth, "ann", nid)["clicked_at"] is None


def test_a_push_carries_actions_and_a_click_link_and_a_digest_does_not():
    note = {"id": "5-0", "title": "T", "body": "", "priority": "normal", "type": "x",
            "created_at": "2026-11-21T00:00:00Z", "link": None, "actions": ACTIONS}
    shown = json.loads(payload(Message("ann", "webpush", (note,)), "/inbox", "/r/tok"))
    assert shown["click"] == "/r/tok"
    assert shown["actions"] == [{"action": "0", "title": "Approve", "url": ACTIONS[0]["url"]},
                                {"action": "1", "title": "Reject", "url": ACTIONS[1]["url"]}]
    digest = json.loads(payload(Message("ann", "webpush", (note, {**note, "id": "6-0"})),
                                "/inbox", "/r/tok"))
    assert "click" not in digest and "actions" not in digest
    long = [{"label": "A", "url": "https://example.com/" + "a" * 2000}] * 2
    cut = json.loads(payload(Message("ann", "webpush", ({**note, "actions": long},)),
                             "/inbox", "/r/tok"))
    assert cut["actions"] == [] and cut["click"] == "/r/tok"
