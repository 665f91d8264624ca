"""Archive and restore through the service and widget APIs: out of the inbox list and
its count, listed under archived=1, restorable; streams hear "archived" and "restored";
replay skips archived items."""

import json

import pytest
from test_events import open_stream

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys

from conftest import TEST_PREFIX

KEYS = Keys(TEST_PREFIX)
BASE = "/api/v1/users/ann/notifications"


def send(client, auth, title):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": "ann", "title": title}))
    return response.json["notifications"][0]["id"]


def titles(client, auth, **query):
    response = client.get(BASE, headers=auth, query_string=query)
    assert response.status_code == 200, response.json
    return [n["title"] for n in response.json["notifications"]]


def test_archive_many_then_one_restore_and_list(client, auth, store):
    ids = [send(client, auth, f"n{i}") for i in range(4)]
    done = client.post(f"{BASE}/archive", headers=auth, json={"ids": [ids[0], ids[2], ids[2]]})
    assert done.status_code == 200 and done.json == {"archived": 2, "unread": 2}
    assert titles(client, auth) == ["n3", "n1"]
    assert titles(client, auth, archived="1") == ["n2", "n0"]
    assert all(n["read"] for n in client.get(BASE, headers=auth,
                                             query_string={"archived": 1}).json["notifications"])
    assert store.receipts.get("ann", ids[0])["read_at"] is not None
    one = client.post(f"{BASE}/{ids[3]}/archive", headers=auth)
    assert one.json == {"archived": 1, "unread": 1}
    assert client.post(f"{BASE}/{ids[3]}/archive", headers=auth).status_code == 404
    back = client.post(f"{BASE}/unarchive", headers=auth, json={"ids": [ids[0], ids[1]]})
    assert back.json == {"restored": 1, "unread": 1}
    assert titles(client, auth) == ["n1", "n0"]
    assert titles(client, auth, archived="1") == ["n3", "n2"]
    assert client.post(f"{BASE}/{ids[0]}/unarchive", headers=auth).status_code == 404
    client.delete(f"{BASE}/{ids[2]}", headers=auth)
    assert titles(client, auth, archived="1") == ["n3"]
    assert store.inbox.client.zrange(KEYS.archived("ann"), 0, -1) == [ids[3].encode()]


def test_the_widget_archives_its_own_users_notifications_only(client, auth):
    mine = send(client, auth, "mine")
    theirs = client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "bob", "title": "bob's"}).json["notifications"][0]["id"]
    bearer = {"Authorization": f"Bearer {tokens.mint('test-secret', 'ann', 300, [])[0]}"}
    done = client.post("/api/v1/me/notifications/archive", headers=bearer,
                       json={"ids": [mine, theirs]})
    assert done.json == {"archived": 1, "unread": 0}  # bob's id is not in ann's inbox
    listed = client.get("/api/v1/me/notifications", headers=bearer,
                        query_string={"archived": "1"}).json["notifications"]
    assert [n["title"] for n in listed] == ["mine"]
    assert client.post(f"/api/v1/me/notifications/{mine}/unarchive",
                       headers=bearer).json == {"restored": 1, "unread": 0}


@pytest.mark.parametrize("path, body, field", [
    ("/archive", {"ids": []}, "ids"),
    ("/archive", {"ids": ["b1-0"]}, "ids[0]"),
    ("/archive", {"ids": "1-0"}, "ids"),
    ("/unarchive", {}, "ids"),
    ("/nope/archive", None, "id"),
])
def test_bad_input_is_422_naming_the_field(client, auth, path, body, field):
    response = client.post(f"{BASE}{path}", headers=auth,
                           **({"json": body} if body is not None else {}))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    listing = client.get(BASE, headers=auth, query_string={"archived": "2"})
    assert listing.status_code == 422 and listing.json["error"]["field"] == "archived"


def test_archiving_tells_streams_and_replay_skips_archived(client, auth, store, redis_client):
    first = send(client, auth, "first")
    pubsub = redis_client.pubsub() if not hasattr(redis_client, "nodes_manager") else None
    if pubsub is not None:
        pubsub.subscribe(KEYS.user_channel("ann"))
        pubsub.get_message(timeout=1)
    second = send(client, auth, "second")
    client.post(f"{BASE}/archive", headers=auth, json={"ids": [second]})
    if pubsub is not None:
        kinds = []
        for _ in range(5):
            message = pubsub.get_message(timeout=1)
            if message and message["type"] == "message":
                kinds.append(json.loads(message["data"]))
        assert {"kind": "archived", "ids": [second], "unread": 1} in kinds
        pubsub.close()
    chunk = store.inbox.replay("ann", "0-1")
    assert [n.id for n in chunk.notifications] == [first]
    assert chunk.scanned == 2 and chunk.last_scanned == second


def test_archive_and_restore_reach_every_open_stream(live_server, http, api_key, token_for,
                                                    sender):
    auth = {"Authorization": f"Bearer {api_key}"}
    with open_stream(live_server, token_for("ann")) as tab1, \
            open_stream(live_server, token_for("ann")) as tab2:
        for tab in (tab1, tab2):
            tab.next_of("unread")
        ids = [sender("ann", f"n{i}") for i in range(2)]
        for tab in (tab1, tab2):
            assert [tab.next_of("notification").nid for _ in ids] == ids
            assert tab.next_of("unread").json() == {"unread": 2}
        http.post("/api/v1/users/ann/notifications/archive", headers=auth, json={"ids": ids})
        http.post(f"/api/v1/users/ann/notifications/{ids[1]}/unarchive", headers=auth)
        for tab in (tab1, tab2):
            archived = tab.next_event()
            assert (archived.event, archived.json()) == ("archived", {"ids": ids})
            assert tab.next_event().json() == {"unread": 0}
            restored = tab.next_event()
            assert (restored.event, restored.json()) == ("restored", {"ids": [ids[1]]})
            assert tab.next_event().json() == {"unread": 0}
