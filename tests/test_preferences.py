"""Preference storage, the preferences API, the types seen, and the live flags of a send."""

import json
from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.crc import key_slot

from notifier.live.hub import encode
from notifier.model.preferences import Preferences
from notifier.model.requests import SendRequest
from notifier.stores.connection import is_cluster
from notifier.stores.nodes import masters
from notifier.stores.preference_cache import PreferenceCache

from conftest import subscribe

DOC = {
    "email": "Alice@Example.com",
    "phone": "+4915112345678",
    "timezone": "Europe/Berlin",
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "channels": {"*": {"email": False, "sms": True}, "security": {"email": True}},
}


def test_save_and_load_round_trip_in_the_shared_storage_format(store, redis_client):
    prefs = Preferences(email="a@example.com", phone="+4915112345678",
                        timezone="Europe/Berlin", quiet_start=clock_time(22),
                        quiet_end=clock_time(7),
                        switches={("*", "sms"): True, ("security", "email"): False})
    store.preferences.save("alice", prefs)
    raw = redis_client.hgetall(store.keys.preferences("alice"))
    assert raw == {b"email": b"a@example.com", b"phone": b"+4915112345678",
                   b"timezone": b"Europe/Berlin", b"quiet_start": b"22:00",
                   b"quiet_end": b"07:00", b"ch:*:sms": b"1", b"ch:security:email": b"0"}
    assert store.preferences.load("alice") == prefs
    # A whole document replaces the old one: nothing of it is left behind.
    store.preferences.save("alice", Preferences(switches={("ci", "in_app"): False}))
    assert redis_client.hgetall(store.keys.preferences("alice")) == {b"ch:ci:in_app": b"0"}
    assert store.preferences.load("nobody") == Preferences()


def test_an_invalid_document_is_refused_before_anything_is_written(store, redis_client):
    store.preferences.save("alice", Preferences(email="a@example.com"))
    for bad in (Preferences(timezone="Mars/Olympus"),
                Preferences(switches={("*", "fax"): True}),
                Preferences(switches={("Bad Type", "sms"): True}),
                Preferences(phone="0151"), Preferences(quiet_start=clock_time(1))):
        with pytest.raises(ValueError):
            store.preferences.save("alice", bad)
    assert store.preferences.load("alice").email == "a@example.com"


def test_malformed_stored_fields_are_ignored_not_fatal(store, redis_client):
    redis_client.hset(store.keys.preferences("alice"), mapping={
        "timezone": "Nowhere/Land", "quiet_start": "7pm", "quiet_end": "07:00",
        "ch:*:fax": "1", "ch:ci:email": "yes", "ch:ci:sms": "1"})
    prefs = store.preferences.load("alice")
    assert prefs == Preferences(switches={("ci", "sms"): True})


def test_load_many_reads_every_user_in_one_round_trip(store, redis_client):
    store.preferences.save("a", Preferences(switches={("ci", "email"): False}))
    store.preferences.save("b", Preferences(timezone="Asia/Tokyo"))
    found = store.preferences.load_many(["a", "b", "c", "a"])
    assert found["a"].enabled("ci", "email") is False and found["b"].timezone == "Asia/Tokyo"
    assert found["c"] == Preferences()
    # An HGETALL a user.
    assert fewest_commands(redis_client,
                           lambda: store.preferences.load_many(["a", "b", "c", "a"])) == 3
    store.preferences.for_routing(["a", "b", "c"])  # loads the script (on every node)
    # One script call (on a cluster, one per slot), an HGETALL a user.
    slots = {key_slot(store.keys.preferences(user).encode()) for user in "abc"}
    calls = len(slots) if is_cluster(redis_client) else 1
    routing = store.preferences.for_routing(["a", "b", "c", "a"])
    assert routing["a"].enabled("ci", "email") is False and routing["c"] == Preferences()
    assert fewest_commands(redis_client, lambda: store.preferences.for_routing(
        ["a", "b", "c", "a"])) == calls + 3
    assert routing["b"].timezone == "Asia/Tokyo"


def fewest_commands(redis_client, call) -> int:
    """The fewest commands Redis ran around ``call()`` over a few tries, the INFOs left
    out: live servers of other tests share this Redis and write now and then, so a
    window without them shows what ``call`` alone costs."""
    infos = len(masters(redis_client))
    counts = []
    for _ in range(5):
        before = commands(redis_client)
        call()
        counts.append(commands(redis_client) - before - infos)
    return min(counts)


def commands(redis_client) -> int:
    """Commands Redis has run (every master of a cluster); two calls in a row differ by
    the number of masters (the INFOs themselves)."""
    return sum(node.info("stats")["total_commands_processed"]
               for node in masters(redis_client))


def test_a_serving_cache_routes_a_send_without_reading_preferences(store, redis_client):
    store.preferences.save("a", Preferences(email="a@example.com",
                                            switches={("ci", "email"): False}))
    cache = store.preferences.cache = PreferenceCache(100)
    store.preferences.for_routing(["a", "b"])
    assert len(cache) == 0  # not serving: nothing is kept
    cache.start()
    store.preferences.for_routing(["a", "b"])
    before = commands(redis_client)
    routing = store.preferences.for_routing(["b", "a"])
    infos = len(masters(redis_client))
    assert commands(redis_client) - before == infos  # the INFOs alone
    assert routing["a"].enabled("ci", "email") is False and routing["b"] == Preferences()
    assert routing["a"].email is None  # contacts are never cached
    cache.stop()
    before = commands(redis_client)
    store.preferences.for_routing(["a"])
    assert commands(redis_client) - before == infos + 2  # a stopped cache reads Redis


def test_a_read_that_raced_a_change_is_not_kept(store):
    cache = store.preferences.cache = PreferenceCache(100)
    cache.start()
    generation = cache.generation
    cache.on_control({"k": "prefs", "u": "someone"})  # a change heard meanwhile
    cache.keep({"a": Preferences(timezone="Asia/Tokyo")}, generation)
    assert cache.get("a") is None
    cache.keep({"a": Preferences(timezone="Asia/Tokyo")}, cache.generation)
    assert cache.get("a").timezone == "Asia/Tokyo"
    cache.on_control({"k": "prefs", "u": "a"})
    assert cache.get("a") is None


def test_every_preference_write_publishes_the_users_invalidation(store, redis_client):
    pubsub = redis_client.pubsub()
    pubsub.subscribe(store.keys.control_channel())
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    store.preferences.save("a", Preferences(timezone="Asia/Tokyo"))
    store.preferences.set_switch("b", "ci", "email", False)
    store.preferences.set_switches("c", {"ch:ci:email": "0"})
    heard = [json.loads(pubsub.get_message(timeout=2)["data"]) for _ in range(3)]
    assert heard == [{"k": "prefs", "u": u} for u in ("a", "b", "c")]
    pubsub.close()


def test_a_send_returns_each_recipients_decision(store):
    store.preferences.save("b", Preferences(switches={("ci", "email"): False}))
    outcome = store.inbox.send([SendRequest(user_ids=["a", "b"], title="t", type="ci")],
                               [("a", 0), ("b", 0)])
    assert [set(d.channels) for d in outcome.decisions] == [
        {"web_push", "email", "mobile_push"}, {"web_push", "mobile_push"}]


def test_types_sent_are_remembered_and_bounded(app, store):
    store.preferences.known_types_max = 3
    for kind in ("ci", "mention", "security", "billing", "billing"):
        store.inbox.send([SendRequest(user_id="u", title="t", type=kind)], [("u", 0)])
    assert store.preferences.known_types() == ["billing", "mention", "security"]


# -- the API -------------------------------------------------------------------------
def test_get_gives_defaults_for_a_user_who_never_saved(client, auth):
    response = client.get("/api/v1/users/alice/preferences", headers=auth)
    assert response.status_code == 200
    assert response.json == {"user_id": "alice", "preferences": {
        "email": None, "phone": None, "timezone": "UTC", "quiet_hours": None,
        "channels": {"*": {"in_app": True, "web_push": True, "email": True,
                           "mobile_push": True, "sms": False}}}}


def test_put_replaces_the_document_and_get_returns_it(client, auth, store):
    response = client.put("/api/v1/users/alice/preferences", headers=auth, json=DOC)
    assert response.status_code == 200, response.json
    stored = client.get("/api/v1/users/alice/preferences", headers=auth).json["preferences"]
    assert response.json["preferences"] == stored
    assert stored["email"] == "Alice@example.com"  # the domain normalised
    assert stored["channels"] == {
        "*": {"in_app": True, "web_push": True, "email": False, "mobile_push": True,
              "sms": True},
        "security": {"email": True}}
    prefs = store.preferences.load("alice")
    assert prefs.enabled("security", "email") and not prefs.enabled("ci", "email")
    # What GET gives, PUT takes back unchanged.
    again = client.put("/api/v1/users/alice/preferences", headers=auth, json=stored)
    assert again.json["preferences"] == stored
    cleared = client.put("/api/v1/users/alice/preferences", headers=auth, json={})
    assert cleared.json["preferences"]["email"] is None
    assert store.preferences.load("alice") == Preferences()


@pytest.mark.parametrize(("change", "field"), [
    ({"phone": "0151 1234567"}, "phone"),
    ({"phone": "+0123456789"}, "phone"),
    ({"email": "not an address"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": "10pm", "end": "7am"}}, "quiet_hours.start"),
    ({"channels": {"*": {"fax": True}}}, "channels.*.fax.[key]"),
    ({"channels": {"Bad Type": {"sms": True}}}, "channels.Bad Type.[key]"),
    ({"channels": {"ci": {"sms": "yes"}}}, "channels.ci.sms"),
    ({"tittle": "x"}, "tittle"),
])
def test_bad_fields_are_named_and_nothing_is_stored(client, auth, store, change, field):
    client.put("/api/v1/users/alice/preferences", headers=auth, json=DOC)
    response = client.put("/api/v1/users/alice/preferences", headers=auth,
                          json={**DOC, **change})
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert store.preferences.load("alice").phone == "+4915112345678"


def test_bad_requests_are_json_errors(client, auth):
    assert client.put("/api/v1/users/alice/preferences", headers=auth,
                      data="{").status_code == 400
    assert client.put("/api/v1/users/alice/preferences", headers=auth,
                      data="[]").status_code == 422
    assert client.get("/api/v1/users/a%7Bb/preferences", headers=auth).json["error"][
        "field"] == "user_id"
    assert client.get("/api/v1/users/alice/preferences").status_code == 401


# -- the live event of a send carries the recipient's decision ---------------------
def quiet_around_now(zone: str = "UTC") -> dict:
    """Quiet hours from an hour ago to an hour from now, in ``zone``."""
    now = datetime.now(ZoneInfo(zone))
    return {"timezone": zone, "quiet_hours": {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M")}}


def published(redis_client, store, user_id):
    return subscribe(redis_client, store.keys.user_channel(user_id))


def next_event(pubsub) -> dict:
    message = pubsub.get_message(timeout=2)
    assert message is not None and message["type"] in ("message", "smessage")
    return json.loads(message["data"])


def test_each_recipient_gets_its_own_live_flags(client, auth, store, redis_client):
    client.put("/api/v1/users/night/preferences", headers=auth, json=quiet_around_now())
    client.put("/api/v1/users/muted/preferences", headers=auth,
               json={"channels": {"ci": {"in_app": False}}})
    subscriptions = {u: published(redis_client, store, u) for u in ("night", "muted", "plain")}
    sent = client.post("/api/v1/notifications", headers=auth, json={
        "user_ids": ["night", "muted", "plain"], "title": "Build passed", "type": "ci"})
    assert sent.status_code == 201
    events = {u: next_event(p) for u, p in subscriptions.items()}
    assert events["night"].get("quiet") is True and "live" not in events["night"]
    assert events["muted"].get("live") is False and "quiet" not in events["muted"]
    assert "quiet" not in events["plain"] and "live" not in events["plain"]
    # Kept in every inbox and counted, whatever the flags.
    assert all(e["unread"] == 1 for e in events.values())
    urgent = client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "night", "title": "Server down", "priority": "urgent"})
    assert urgent.status_code == 201
    assert "quiet" not in next_event(subscriptions["night"])


def test_a_batch_routes_each_item_by_its_own_type(client, auth, store, redis_client):
    client.put("/api/v1/users/muted/preferences", headers=auth,
               json={"channels": {"ci": {"in_app": False}}})
    pubsub = published(redis_client, store, "muted")
    client.post("/api/v1/notifications/batch", headers=auth, json={"notifications": [
        {"user_id": "muted", "title": "a", "type": "ci"},
        {"user_id": "muted", "title": "b", "type": "mention"}]})
    first, second = next_event(pubsub), next_event(pubsub)
    assert first["notification"]["title"] == "a" and first.get("live") is False
    assert second["notification"]["title"] == "b" and "live" not in second


def test_the_stream_hands_the_flags_to_the_page():
    payload = json.dumps({"type": "ci", "title": "t", "body": "", "data": {},
                          "priority": "high", "link": None,
                          "created_at": "2026-01-01T00:00:00.000Z", "expires_at": None})
    for extra, expected in (('"quiet":true,', {"quiet": True}),
                            ('"live":false,', {"live": False}), ("", {})):
        message = f'{{"kind":"notification","id":"1-0","unread":1,{extra}"notification":{payload}}}'
        frame = encode(message.encode(), "u").frames.decode()
        data = json.loads(frame.split("data: ", 1)[1])
        assert {k: data[k] for k in ("quiet", "live") if k in data} == expected


def test_a_change_reaches_every_server_workers_cache_before_the_next_send(
        live_server, api_key, store, redis_client):
    """Both gunicorn workers route sends from their cache; a PUT through either
    of them decides the very next send on both."""
    auth = {"Authorization": f"Bearer {api_key}"}
    pubsub = published(redis_client, store, "cached")

    def send_on_new_connections(count: int) -> list[dict]:
        # A new connection each time, so the kernel spreads them over both workers.
        for number in range(count):
            with httpx.Client(base_url=live_server.url, timeout=10) as http:
                sent = http.post("/api/v1/notifications", headers=auth, json={
                    "user_id": "cached", "title": f"n{number}", "type": "ci"})
                assert sent.status_code == 201, sent.text
        return [next_event(pubsub) for _ in range(count)]

    assert all("live" not in event for event in send_on_new_connections(20))
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.put("/api/v1/users/cached/preferences", headers=auth,
                        json={"channels": {"ci": {"in_app": False}}}).status_code == 200
    assert all(event.get("live") is False for event in send_on_new_connections(20))
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.put("/api/v1/users/cached/preferences", headers=auth,
                        json={}).status_code == 200
    assert all("live" not in event for event in send_on_new_connections(20))
