"""Broadcasts: stored once, merged into every user's feed, live and on replay."""

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sse_client import SSEStream

from notifier.core.keys import Keys

from conftest import TEST_PREFIX, by_server, servers, sign_in

KEYS = Keys(TEST_PREFIX)


def iso(delta: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta)).isoformat()


def past(moment: str) -> bool:
    return datetime.fromisoformat(moment) <= datetime.now(UTC)


def announce(api, auth, title="Announcement", **fields):
    response = api.post("/api/v1/broadcasts", headers=auth,
                        data=json.dumps({"title": title, **fields}))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["broadcast"]


def send(api, auth, user_id, title="n"):
    response = api.post("/api/v1/notifications", headers=auth,
                        data=json.dumps({"user_id": user_id, "title": title}))
    assert response.status_code == 201
    return response.json["notifications"][0]["id"]


def listing(api, auth, user_id, **query):
    response = api.get(f"/api/v1/users/{user_id}/notifications", headers=auth,
                       query_string=query)
    assert response.status_code == 200
    return response.json


def unread(api, auth, user_id) -> int:
    return api.get(f"/api/v1/users/{user_id}/unread-count", headers=auth).json["unread"]


# -- the API ---------------------------------------------------------------
def test_create_get_list_and_shape(client, auth):
    made = announce(client, auth, "Release 2.0", body="New things", priority="high",
                    link="https://example.com/notes")
    assert made["id"].startswith("b") and made["type"] == "system"
    assert made["starts_at"] is None and made["expires_at"] is None
    assert client.get(f"/api/v1/broadcasts/{made['id']}", headers=auth).json == made
    assert client.get("/api/v1/broadcasts", headers=auth).json["broadcasts"] == [made]


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "m", "type": "maintenance"}, "starts_at"),  # a maintenance notice needs a window
    # Parameters are made when the tests are collected, minutes before this one may
    # run: times that must still be ahead then are days ahead.
    ({"title": "w", "starts_at": iso(86400)}, "ends_at"),  # starts_at without ends_at
    ({"title": "w", "ends_at": iso(86400)}, "starts_at"),  # ends_at without starts_at
    ({"title": "w", "starts_at": iso(2 * 86400), "ends_at": iso(86400)}, "ends_at"),
    ({"title": "w", "starts_at": iso(-120), "ends_at": iso(-60)}, "ends_at"),
    ({"title": "x", "audience": "all"}, "audience"),
    ({"title": ""}, "title"),
])
def test_bad_broadcasts_are_refused_and_store_nothing(client, auth, redis_client, body, field):
    response = client.post("/api/v1/broadcasts", headers=auth, data=json.dumps(body))
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert response.json["error"]["errors"][0]["field"] == field
    assert redis_client.exists(KEYS.broadcast_log(), KEYS.broadcast_items()) == 0


def test_a_maintenance_notice_without_a_window_names_both_ends(client, auth):
    response = client.post("/api/v1/broadcasts", headers=auth,
                           data=json.dumps({"title": "m", "type": "maintenance"}))
    assert response.status_code == 422
    errors = response.json["error"]["errors"]
    assert [e["field"] for e in errors] == ["starts_at", "ends_at"]
    assert all("maintenance" in e["message"] for e in errors)


def test_unknown_and_malformed_ids(client, auth):
    assert client.get("/api/v1/broadcasts/b1-0", headers=auth).status_code == 404
    bad = client.get("/api/v1/broadcasts/1-0", headers=auth)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "id"
    assert client.post("/api/v1/broadcasts/b1-0/end", headers=auth).status_code == 404


def test_idempotent_broadcast(client, auth, redis_client):
    first = client.post("/api/v1/broadcasts", headers=auth,
                        data=json.dumps({"title": "once", "idempotency_key": "k1"}))
    again = client.post("/api/v1/broadcasts", headers=auth,
                        data=json.dumps({"title": "once", "idempotency_key": "k1"}))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["broadcast"]["id"] == first.json["broadcast"]["id"]
    assert redis_client.xlen(KEYS.broadcast_log()) == 1
    other = client.post("/api/v1/broadcasts", headers=auth,
                        data=json.dumps({"title": "different", "idempotency_key": "k1"}))
    assert other.status_code == 422 and other.json["error"]["field"] == "idempotency_key"


def test_a_million_user_broadcast_is_one_stored_entry(client, auth, redis_client):
    # A million users who have appeared (each has their broadcast state hash), written
    # by scripts on the servers holding them (each master of a cluster).
    states = [KEYS.broadcast_state(f"m{i}") for i in range(1, 1_000_001)]
    for server, owned in by_server(redis_client, states):
        for start in range(0, len(owned), 100_000):
            server.eval("#!lua flags=allow-cross-slot-keys\n"
                        "for _, key in ipairs(ARGV) do redis.call('HSET', key, 'since', 0) end",
                        0, *owned[start:start + 100_000])
    # Every key outside the million users' hashes, and how many of those there are.
    # Compared as sets, so what a live server elsewhere in the session writes
    # meanwhile (reports, presence, rate-limit counters) is not miscounted.
    def stored() -> tuple[set[bytes], int]:
        found, users = set(), 0
        for server in servers(redis_client):
            keys = server.eval(
                "local out, users = {}, 0 "
                "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
                "if string.sub(k, 1, #ARGV[2]) == ARGV[2] then users = users + 1 "
                "else out[#out + 1] = k end end "
                "out[#out + 1] = tostring(users) return out",
                0, f"{TEST_PREFIX}:*", f"{TEST_PREFIX}:{{u:m")
            found |= set(keys[:-1])
            users += int(keys[-1])
        return found, users

    keys_before, users_before = stored()
    made = announce(client, auth, "Everyone", body="x" * 200)
    keys_after, users_after = stored()
    assert users_after == users_before == 1_000_000  # no per-user copy, no per-user write
    created = {k.decode() for k in keys_after - keys_before}
    elsewhere = (f"{TEST_PREFIX}:rl", f"{TEST_PREFIX}:{{workers.", f"{TEST_PREFIX}:{{schedulers.",
                 f"{TEST_PREFIX}:{{presence.")
    assert {k for k in created if not k.startswith(elsewhere)} == {
        KEYS.broadcast_log(), KEYS.broadcast_items(), KEYS.broadcast_alive()}  # once
    assert redis_client.xlen(KEYS.broadcast_log()) == 1
    assert redis_client.hlen(KEYS.broadcast_items()) == 1
    assert redis_client.zcard(KEYS.broadcast_alive()) == 1
    stored = sum(redis_client.memory_usage(k) for k in (
        KEYS.broadcast_log(), KEYS.broadcast_items(), KEYS.broadcast_alive()))
    assert stored < 8 * 1024  # bytes, for a million recipients
    for user in ("m1", "m500000", "m1000000"):
        assert listing(client, auth, user)["notifications"][0]["id"] == made["id"]
        assert unread(client, auth, user) == 1


# -- the feed --------------------------------------------------------------
def test_offline_user_finds_it_in_the_inbox_with_its_own_read_state(client, auth):
    send(client, auth, "ann", "before")
    send(client, auth, "bob", "before")
    made = announce(client, auth, "Planned upgrade")
    mine = send(client, auth, "ann", "after")
    items = listing(client, auth, "ann")["notifications"]
    assert [i["id"] for i in items][:2] == [mine, made["id"]]
    shown = items[1]
    assert shown["source"] == "broadcast" and shown["user_id"] == "ann" and not shown["read"]
    assert unread(client, auth, "ann") == 3 and unread(client, auth, "bob") == 2

    read = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                       data=json.dumps({"ids": [made["id"]]}))
    assert read.json == {"marked": 1, "unread": 2}
    again = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                        data=json.dumps({"ids": [made["id"]]}))
    assert again.json == {"marked": 0, "unread": 2}
    assert listing(client, auth, "ann")["notifications"][1]["read"] is True
    assert unread(client, auth, "bob") == 2  # bob's copy is still unread
    assert listing(client, auth, "bob", unread=1)["notifications"][0]["id"] == made["id"]
    assert [i["id"] for i in listing(client, auth, "ann", unread=1)["notifications"]] == [
        mine, items[2]["id"]]


def test_users_who_appear_later_do_not_get_older_broadcasts(client, auth):
    announce(client, auth, "old news")
    time.sleep(0.01)
    send(client, auth, "newcomer")
    assert [i["source"] for i in listing(client, auth, "newcomer")["notifications"]] == [
        "direct"]
    later = announce(client, auth, "for everyone from now on")
    assert listing(client, auth, "newcomer")["notifications"][0]["id"] == later["id"]


def test_users_who_appear_during_a_maintenance_window_see_it(client, auth):
    under_way = announce(client, auth, "Database upgrade", type="maintenance",
                         starts_at=iso(-60), ends_at=iso(3600))
    upcoming = announce(client, auth, "Network work", type="maintenance",
                        starts_at=iso(1800), ends_at=iso(7200))
    announce(client, auth, "old news")
    time.sleep(0.01)
    send(client, auth, "newcomer")  # appears now, both windows still open
    items = listing(client, auth, "newcomer")["notifications"]
    assert [(i["source"], i["id"]) for i in items] == [
        ("direct", items[0]["id"]), ("broadcast", upcoming["id"]),
        ("broadcast", under_way["id"])]
    assert unread(client, auth, "newcomer") == 3
    read = client.post("/api/v1/users/newcomer/notifications/read", headers=auth,
                       data=json.dumps({"ids": [under_way["id"]]}))
    assert read.json == {"marked": 1, "unread": 2}
    gone = client.delete(f"/api/v1/users/newcomer/notifications/{upcoming['id']}",
                         headers=auth)
    assert gone.status_code == 200 and gone.json["unread"] == 1


def test_a_window_over_before_the_user_appeared_stays_out(client, auth):
    made = announce(client, auth, "Short outage", type="maintenance", starts_at=iso(-60),
                    ends_at=iso(3600), expires_at=iso(7200))
    ended = client.post(f"/api/v1/broadcasts/{made['id']}/end", headers=auth).json
    assert ended["expires_at"] == made["expires_at"]  # still alive: the notice stays up
    time.sleep(0.01)
    send(client, auth, "latecomer")
    assert [i["source"] for i in listing(client, auth, "latecomer")["notifications"]] == [
        "direct"]
    assert unread(client, auth, "latecomer") == 1


def test_windows_are_kept_while_their_broadcast_lives(client, auth, redis_client):
    made = announce(client, auth, "Upgrade", type="maintenance", starts_at=iso(60),
                    ends_at=iso(3600))
    key = made["id"][1:]
    assert redis_client.zscore(KEYS.broadcast_windows(), key) is not None
    client.post(f"/api/v1/broadcasts/{made['id']}/end", headers=auth)  # expires with it
    ended_ms = datetime.fromisoformat(
        client.get(f"/api/v1/broadcasts/{made['id']}", headers=auth).json["ends_at"])
    assert redis_client.zscore(KEYS.broadcast_windows(), key) == int(
        ended_ms.timestamp() * 1000)
    time.sleep(0.01)
    announce(client, auth, "next")  # creating one prunes what is no longer alive
    assert redis_client.zcard(KEYS.broadcast_windows()) == 0


def test_a_newcomers_first_inbox_page_shows_the_maintenance_under_way(client, auth, store):
    announce(client, auth, "Database upgrade tonight", type="maintenance",
             starts_at=iso(-60), ends_at=iso(3600))
    announce(client, auth, "Last week's release notes")
    time.sleep(0.01)
    store.accounts.create("newbie", "correct horse battery")
    assert sign_in(client, "newbie", "correct horse battery").status_code == 302
    page = client.get("/inbox").text
    assert "Database upgrade tonight" in page and "Last week" not in page
    assert 'aria-label="1 unread"' in page


def test_dismissing_hides_it_for_that_user_only(client, auth):
    send(client, auth, "ann")
    send(client, auth, "bob")
    made = announce(client, auth, "dismiss me")
    gone = client.delete(f"/api/v1/users/ann/notifications/{made['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json["unread"] == 1
    assert client.delete(f"/api/v1/users/ann/notifications/{made['id']}",
                         headers=auth).status_code == 404
    assert made["id"] not in [i["id"] for i in listing(client, auth, "ann")["notifications"]]
    assert made["id"] in [i["id"] for i in listing(client, auth, "bob")["notifications"]]


def test_mark_all_read_up_to_a_position_spares_later_broadcasts(client, auth):
    send(client, auth, "ann")
    first = announce(client, auth, "first")
    page = listing(client, auth, "ann")
    position = f"{page['notifications'][1]['id']}_{first['id'][1:]}"
    later = announce(client, auth, "later")
    marked = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                         data=json.dumps({"all": True, "up_to": position}))
    assert marked.json == {"marked": 2, "unread": 1}
    [left] = listing(client, auth, "ann", unread=1)["notifications"]
    assert left["id"] == later["id"]
    everything = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                             data=json.dumps({"all": True}))
    assert everything.json == {"marked": 1, "unread": 0}


def all_pages(client, auth, user_id, limit):
    seen, before = [], None
    while True:
        query = {"limit": limit, **({"before": before} if before else {})}
        page = listing(client, auth, user_id, **query)
        seen += [i["id"] for i in page["notifications"]]
        before = page["next"]
        if before is None:
            return seen


def test_pages_merge_both_sources_in_time_order(client, auth):
    made = []
    for i in range(4):
        made.append(send(client, auth, "ann", f"n{i}"))
        time.sleep(0.002)  # distinct milliseconds: the order of creation is the feed's
        made.append(announce(client, auth, f"b{i}")["id"])
        time.sleep(0.002)
    assert all_pages(client, auth, "ann", 3) == made[::-1]


def test_pages_lose_and_repeat_nothing_when_ids_tie_across_sources(client, auth):
    made = set()
    for i in range(10):  # same-millisecond ids in both sources are likely here
        made.add(send(client, auth, "ann", f"n{i}"))
        made.add(announce(client, auth, f"b{i}")["id"])
    for limit in (1, 2, 3):
        seen = all_pages(client, auth, "ann", limit)
        assert len(seen) == len(set(seen)) and set(seen) == made


def test_expired_broadcasts_disappear(client, auth):
    send(client, auth, "ann")
    made = announce(client, auth, "short-lived", expires_at=iso(1.0))
    assert unread(client, auth, "ann") == 2
    time.sleep(1.1)
    assert unread(client, auth, "ann") == 1
    assert made["id"] not in [i["id"] for i in listing(client, auth, "ann")["notifications"]]
    read = client.post("/api/v1/users/ann/notifications/read", headers=auth,
                       data=json.dumps({"ids": [made["id"]]}))
    assert read.json["marked"] == 0


def test_ending_a_maintenance_window_early(client, auth):
    send(client, auth, "ann")
    made = announce(client, auth, "Database upgrade", type="maintenance",
                    starts_at=iso(60), ends_at=iso(3600))
    assert made["expires_at"] == made["ends_at"]  # it leaves inboxes when the window ends
    assert client.post("/api/v1/broadcasts/" + announce(client, auth, "plain")["id"] + "/end",
                       headers=auth).status_code == 409
    ended = client.post(f"/api/v1/broadcasts/{made['id']}/end", headers=auth)
    assert ended.status_code == 200
    body = ended.json
    assert past(body["ends_at"]) and body["expires_at"] == body["ends_at"]
    assert body["starts_at"] == body["ends_at"]  # it had not started: the window is empty
    assert made["id"] not in [i["id"] for i in listing(client, auth, "ann")["notifications"]]
    assert client.post(f"/api/v1/broadcasts/{made['id']}/end", headers=auth).status_code == 409


# -- live ------------------------------------------------------------------
def open_stream(live_server, token, headers=None) -> SSEStream:
    stream = SSEStream(live_server.url, f"/events?token={token}", headers=headers)
    assert stream.status == 200
    return stream


def test_online_user_gets_it_live_with_the_unread_count(live_server, http, api_key,
                                                        token_for, sender):
    auth = {"Authorization": f"Bearer {api_key}"}
    sender("ann", "first")
    with open_stream(live_server, token_for("ann")) as stream:
        assert stream.next_of("unread").json() == {"unread": 1}
        made = http.post("/api/v1/broadcasts", headers=auth,
                         json={"title": "Hello all", "priority": "high"}).json()["broadcast"]
        event = stream.next_of("broadcast")
        assert event.json() == {**made, "source": "broadcast", "read": False, "actions": []}
        assert event.bpos == made["id"][1:]
        assert stream.next_of("unread").json() == {"unread": 2}
        http.post("/api/v1/users/ann/notifications/read", headers=auth,
                  json={"ids": [made["id"]]})
        assert stream.next_of("read").json() == {"ids": [made["id"]]}
        assert stream.next_of("unread").json() == {"unread": 1}
        ended = http.post("/api/v1/broadcasts", headers=auth, json={
            "title": "Maintenance", "type": "maintenance", "starts_at": iso(60),
            "ends_at": iso(600)}).json()["broadcast"]
        assert stream.next_of("broadcast").json()["id"] == ended["id"]
        assert stream.next_of("unread").json() == {"unread": 2}
        http.post(f"/api/v1/broadcasts/{ended['id']}/end", headers=auth)
        update = stream.next_of("broadcast").json()
        assert update["id"] == ended["id"] and past(update["ends_at"])
        assert stream.next_of("unread").json() == {"unread": 1}  # it expired with its window


def test_a_newcomers_stream_counts_the_window_under_way_and_gets_its_changes(
        live_server, http, api_key, token_for):
    auth = {"Authorization": f"Bearer {api_key}"}
    made = http.post("/api/v1/broadcasts", headers=auth, json={
        "title": "Maintenance", "type": "maintenance", "starts_at": iso(-60),
        "ends_at": iso(600), "expires_at": iso(1200)}).json()["broadcast"]
    with open_stream(live_server, token_for("fresh")) as stream:  # "fresh" appears now
        assert stream.next_of("unread").json() == {"unread": 1}
        http.post(f"/api/v1/broadcasts/{made['id']}/end", headers=auth)
        update = stream.next_of("broadcast").json()
        assert update["id"] == made["id"] and past(update["ends_at"])
    listed = http.get("/api/v1/users/fresh/notifications", headers=auth).json()
    assert [n["id"] for n in listed["notifications"]] == [made["id"]]


def test_replay_across_user_and_broadcast_events_loses_and_repeats_nothing(
        live_server, http, api_key, token_for, sender):
    auth = {"Authorization": f"Bearer {api_key}"}
    sender("ann", "seen")
    with open_stream(live_server, token_for("ann")) as stream:
        stream.next_of("unread")
        first = sender("ann", "live one")
        last_id = stream.next_of("notification").id
        assert last_id.startswith(first + "_")
    missed = []
    for i in range(30):
        if i % 3 == 0:
            missed.append(http.post("/api/v1/broadcasts", headers=auth,
                                    json={"title": f"b{i}"}).json()["broadcast"]["id"])
        else:
            missed.append(sender("ann", f"n{i}"))
    got, ids = [], []
    with open_stream(live_server, token_for("ann"), {"Last-Event-ID": last_id}) as stream:
        while len(got) < 15:
            event = stream.next_event()
            if event.event in ("notification", "broadcast"):
                got.append(event.json()["id"])
                ids.append(event.id)
        resume_from = ids[14]  # the middle, at a broadcast or a notification
    assert got == missed[:15]
    with open_stream(live_server, token_for("ann"), {"Last-Event-ID": resume_from}) as stream:
        while len(got) < 30:
            event = stream.next_event()
            if event.event in ("notification", "broadcast"):
                got.append(event.json()["id"])
                ids.append(event.id)
        after = sender("ann", "live again")
        assert stream.next_of("notification").json()["id"] == after
    # None lost, none twice, in order (ids of the same millisecond in the two
    # sources may come either way round).
    assert sorted(got) == sorted(missed) and len(set(got)) == len(got)
    positions = [tuple(tuple(map(int, p.split("-"))) for p in i.split("_")) for i in ids]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(positions))
    assert len(set(ids)) == len(ids)
