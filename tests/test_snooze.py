"""Snooze through the service and widget APIs: out of the inbox list and the unread count
until a time, listed under snoozed=1, back unread when the scheduler's alarm (or a
listing) finds it due, or at once by unsnooze; streams hear "snoozed" and "restored"."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_events import open_stream

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys
from notifier.scheduling.scheduler import Runner

from conftest import TEST_PREFIX

KEYS = Keys(TEST_PREFIX)
BASE = "/api/v1/users/ann/notifications"


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def send(client, auth, title, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": "ann", "title": title, **fields}))
    return response.json["notifications"][0]["id"]


def titles(client, auth, **query):
    response = client.get(BASE, headers=auth, query_string=query)
    assert response.status_code == 200, response.json
    return [n["title"] for n in response.json["notifications"]]


def test_snooze_many_and_one_then_unsnooze(client, auth, store):
    ids = [send(client, auth, f"n{i}") for i in range(4)]
    client.post(f"{BASE}/read", headers=auth, json={"ids": [ids[0]]})
    until = later(3600)
    done = client.post(f"{BASE}/snooze", headers=auth,
                       json={"ids": [ids[0], ids[1], "9-9"], "until": until})
    assert done.status_code == 200, done.json
    assert done.json["snoozed"] == 2 and done.json["unread"] == 2
    answered = datetime.fromisoformat(done.json["until"])
    assert abs(answered - datetime.fromisoformat(until)) < timedelta(milliseconds=1)
    assert titles(client, auth) == ["n3", "n2"]
    assert titles(client, auth, snoozed=1) == ["n1", "n0"]
    one = client.post(f"{BASE}/{ids[2]}/snooze", headers=auth, json={"until": until})
    assert one.json["snoozed"] == 1 and one.json["unread"] == 1
    assert client.post(f"{BASE}/9-9/snooze", headers=auth,
                       json={"until": until}).status_code == 404
    # Archived ones are not snoozed.
    client.post(f"{BASE}/{ids[3]}/archive", headers=auth)
    assert client.post(f"{BASE}/{ids[3]}/snooze", headers=auth,
                       json={"until": until}).status_code == 404
    back = client.post(f"{BASE}/unsnooze", headers=auth, json={"ids": [ids[0], ids[3]]})
    assert back.json == {"unsnoozed": 1, "unread": 1}  # back unread, though it was read
    assert titles(client, auth) == ["n0"]
    assert titles(client, auth, snoozed=1) == ["n2", "n1"]
    assert client.post(f"{BASE}/{ids[0]}/unsnooze", headers=auth).status_code == 404
    # The operators' list of scheduled sends does not show the alarms.
    assert client.get("/api/v1/scheduled", headers=auth).json["scheduled"] == []
    assert store.inbox.snoozed_until("ann", ids).keys() == {ids[1], ids[2]}


def test_a_snoozed_notification_comes_back_unread_when_due(app, client, auth, store):
    first = send(client, auth, "first")
    client.post(f"{BASE}/read", headers=auth, json={"all": True})
    client.post(f"{BASE}/{first}/snooze", headers=auth, json={"until": later(1.2)})
    assert titles(client, auth) == [] and store.inbox.unread_count("ann") == 0
    runner = Runner(app)
    runner.run_due()
    assert store.inbox.unread_count("ann") == 0  # not yet
    time.sleep(1.4)
    runner.run_due()  # the alarm
    assert store.inbox.unread_count("ann") == 1
    assert client.get(BASE, headers=auth).json["notifications"][0]["read"] is False
    assert titles(client, auth, snoozed=1) == []


def test_a_listing_brings_back_what_is_due_and_expired_ones_stay_away(client, auth, store):
    kept = send(client, auth, "kept")
    gone = send(client, auth, "short-lived", expires_at=later(1.0))
    client.post(f"{BASE}/snooze", headers=auth, json={"ids": [kept, gone],
                                                      "until": later(0.6)})
    time.sleep(1.2)
    assert titles(client, auth) == ["kept"]  # no runner: the listing brought it back
    assert store.inbox.unread_count("ann") == 1
    assert store.inbox.client.zcard(KEYS.snoozed("ann")) == 0
    assert store.inbox.client.hlen(KEYS.snoozed_unread("ann")) == 0


def test_the_widget_snoozes_its_own_users_notifications_only(client, auth):
    mine = send(client, auth, "mine")
    theirs = client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "bob", "title": "bob's"}).json["notifications"][0]["id"]
    bearer = {"Authorization": f"Bearer {tokens.mint('test-secret', 'ann', 300, [])[0]}"}
    done = client.post("/api/v1/me/notifications/snooze", headers=bearer,
                       json={"ids": [mine, theirs], "until": later(600)})
    assert done.json["snoozed"] == 1
    listed = client.get("/api/v1/me/notifications", headers=bearer,
                        query_string={"snoozed": "1"}).json["notifications"]
    assert [n["title"] for n in listed] == ["mine"]
    assert client.post(f"/api/v1/me/notifications/{mine}/unsnooze",
                       headers=bearer).json == {"unsnoozed": 1, "unread": 1}


@pytest.mark.parametrize("path, body, field", [
    ("/snooze", {"ids": ["1-0"]}, "until"),
    ("/snooze", {"ids": [], "until": "2999-01-01T00:00:00Z"}, "ids"),
    ("/snooze", {"ids": ["1-0"], "until": "2001-01-01T00:00:00Z"}, "until"),
    ("/snooze", {"ids": ["1-0"], "until": "tomorrow"}, "until"),
    ("/snooze", {"ids": ["1-0"], "until": "2999-01-01T00:00:00"}, "until"),
    ("/1-0/snooze", {}, "until"),
    ("/nope/snooze", {"until": "2999-01-01T00:00:00Z"}, "id"),
    ("/unsnooze", {"ids": ["b1-0"]}, "ids[0]"),
])
def test_bad_input_is_422_naming_the_field(client, auth, path, body, field):
    response = client.post(f"{BASE}{path}", headers=auth, json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    listing = client.get(BASE, headers=auth, query_string={"snoozed": "1", "archived": "1"})
    assert listing.status_code == 422 and listing.json["error"]["field"] == "snoozed"


def test_snooze_and_return_reach_open_streams(live_server, http, api_key, token_for, sender):
    auth = {"Authorization": f"Bearer {api_key}"}
    with open_stream(live_server, token_for("ann")) as tab:
        tab.next_of("unread")
        ids = [sender("ann", f"n{i}") for i in range(2)]
        assert [tab.next_of("notification").nid for _ in ids] == ids
        assert tab.next_of("unread").json() == {"unread": 2}
        http.post("/api/v1/users/ann/notifications/snooze", headers=auth,
                  json={"ids": ids, "until": later(1.5)})
        snoozed = tab.next_event()
        assert (snoozed.event, snoozed.json()) == ("snoozed", {"ids": ids})
        assert tab.next_event().json() == {"unread": 0}
        # The server's own scheduler brings them back on time, live.
        restored = tab.next_of("restored", within=15)
        assert restored.json() == {"ids": ids}
        assert tab.next_event().json() == {"unread": 2}


def test_ids_beyond_a_streams_range_are_passed_by_not_a_500(client, auth):
    kept = send(client, auth, "kept")
    huge = "99240800586704105614-00259122056205155766"
    padded = "0" + kept  # the same entry, written with a leading zero
    for path, body in (("/archive", {"ids": [huge]}),
                       ("/snooze", {"ids": [huge], "until": later(60)}),
                       ("/unsnooze", {"ids": [huge]}),
                       ("/unarchive", {"ids": [huge]})):
        response = client.post(f"{BASE}{path}", headers=auth, json=body)
        assert response.status_code == 200, (path, response.json)
    assert client.post(f"{BASE}/archive", headers=auth,
                       json={"ids": [padded]}).json["archived"] == 1
    assert titles(client, auth, archived=1) == ["kept"]
