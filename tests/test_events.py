"""GET /events over real HTTP against gunicorn: delivery, resume, filters, isolation."""

import json
import threading
import time

import pytest
from sse_client import SSEStream

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys

from conftest import TEST_PREFIX

KEYS = Keys(TEST_PREFIX)


def open_stream(live_server, token, query="", headers=None) -> SSEStream:
    stream = SSEStream(live_server.url, f"/events?token={token}{query}", headers=headers)
    assert stream.status == 200
    return stream


def wait_for_subscribers(redis_client, user_id, count, timeout=5.0):
    channel = KEYS.user_channel(user_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dict(redis_client.pubsub_numsub(channel))[channel.encode()] == count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{channel} never had {count} subscribers")


def test_headers_retry_and_live_delivery(live_server, redis_client, token_for, sender):
    with open_stream(live_server, token_for("ann")) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        first = stream.next_event(include_comments=True)
        assert first.retry == 3000
        assert stream.next_of("unread").json() == {"unread": 0}
        # Titles are one line; a body may hold line feeds, and data anything.
        sent = sender("ann", "Hi there", body="Hi\n\nevent: forged",
                      data={"x": "a\r\nevent: forged\n\ndata: x"},
                      priority="high", link="https://example.com/a")
        event = stream.next_of("notification")
        assert event.nid == sent
        body = event.json()
        assert body["id"] == sent and body["title"] == "Hi there" and body["read"] is False
        assert body["body"] == "Hi\n\nevent: forged"
        assert body["data"] == {"x": "a\r\nevent: forged\n\ndata: x"}
        assert set(body) == {"id", "user_id", "type", "title", "body", "data", "priority",
                             "link", "created_at", "expires_at", "read", "source", "group",
                             "starts_at", "ends_at", "actions", "thread"}
        assert stream.next_event().event == "unread"


def test_signed_in_page_session_opens_the_stream(live_server, http, store, sender):
    store.accounts.create("sam", "correct horse battery")
    login = http.get("/login")
    from conftest import csrf_from

    http.post("/login", data={"username": "sam", "password": "correct horse battery",
                              "csrf_token": csrf_from(login.text)})
    cookie = f"session={http.cookies['session']}"
    with SSEStream(live_server.url, "/events", headers={"Cookie": cookie}) as stream:
        assert stream.status == 200
        stream.next_of("unread")
        sent = sender("sam")
        assert stream.next_of("notification").nid == sent


@pytest.mark.parametrize("query", ["", "?token=", "?token=garbage",
                                   "?token=eyJ1IjoiYiIsImUiOjk5OTk5OTk5OTl9.forged"])
def test_no_valid_auth_is_401(live_server, query):
    with SSEStream(live_server.url, f"/events{query}") as stream:
        assert stream.status == 401


def test_expired_token_is_401_and_a_live_stream_ends_at_expiry(live_server, token_for):
    with SSEStream(live_server.url, f"/events?token={token_for('ann', ttl=-1)}") as stream:
        assert stream.status == 401
    started = time.monotonic()
    with open_stream(live_server, token_for("ann", ttl=1.5)) as stream:
        assert stream.next_of("expired").json() == {"reason": "token expired"}
        assert stream.next_event() is None
    assert 1.0 < time.monotonic() - started < 4


def test_an_idle_stream_gets_a_heartbeat_each_interval(live_server, token_for, sender):
    """Heartbeats (1 s here) come from the hub's waker: neither lost nor early."""
    with open_stream(live_server, token_for("hal")) as stream:
        stream.next_of("unread")
        pings, kinds = [], []
        started = time.monotonic()
        while len(pings) < 3:
            event = stream.next_event(include_comments=True, within=5)
            kinds.append(event.event)
            if event.event == "comment" and event.data == "ping":
                pings.append(time.monotonic() - started)
                if len(pings) == 1:
                    sender("hal")  # a delivery between two pings re-arms the wait
        assert "notification" in kinds
        # 3 pings: at least 1 s apart, and none overdue by more than the waker's step.
        gaps = [b - a for a, b in zip([0.0, *pings], pings, strict=False)]
        assert all(gap < 2.5 for gap in gaps), gaps
        assert all(gap > 0.7 for gap in gaps[1:]), gaps


def test_streams_opened_together_do_not_beat_together(live_server, token_for):
    """Each stream's first heartbeat comes after a random 10-100 % of the interval, so
    thousands reconnecting at once (a restart) spread their heartbeats out."""
    streams = [open_stream(live_server, token_for(f"beat{n}")) for n in range(24)]
    delays: list[float] = []

    def first_ping(stream: SSEStream) -> None:
        stream.next_of("unread")  # set up: the wait for the first heartbeat starts
        ready = time.monotonic()
        while stream.next_event(include_comments=True, within=5).data != "ping":
            pass
        delays.append(time.monotonic() - ready)

    try:
        readers = [threading.Thread(target=first_ping, args=(s,)) for s in streams]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(10)
        assert len(delays) == len(streams)
        # 1 s heartbeats and a waker step of 0.25 s: beating together, every first ping
        # would come 1-1.25 s after its stream was ready; spread over 0.1-1.25 s, all 24
        # within 0.45 s of each other has odds of about 1 in 100,000.
        assert max(delays) - min(delays) >= 0.45, sorted(delays)
        assert all(delay < 1.8 for delay in delays), sorted(delays)
    finally:
        for stream in streams:
            stream.close()


def test_a_token_opens_only_its_own_users_stream(live_server, redis_client, token_for, sender):
    ann = token_for("ann")
    forged = ann.replace(ann.split(".")[0], tokens.mint("other-secret", "bob", 60)[0]
                         .split(".")[0])
    with SSEStream(live_server.url, f"/events?token={forged}") as stream:
        assert stream.status == 401
    with open_stream(live_server, ann, "&user_id=bob") as stream:
        stream.next_of("unread")
        sender("bob", "for bob")
        mine = sender("ann", "for ann")
        event = stream.next_of("notification")
        assert event.nid == mine and event.json()["user_id"] == "ann"


def test_replay_after_reconnect_gets_exactly_the_missed_ones(live_server, token_for, sender):
    token = token_for("ann")
    with open_stream(live_server, token) as stream:
        stream.next_of("unread")
        seen = sender("ann", "seen")
        assert stream.next_of("notification").nid == seen
    missed = [sender("ann", f"missed {i}") for i in range(3)]
    with open_stream(live_server, token, headers={"Last-Event-ID": seen}) as stream:
        replayed = [stream.next_of("notification") for _ in missed]
        assert [e.nid for e in replayed] == missed
        assert [e.json()["title"] for e in replayed] == ["missed 0", "missed 1", "missed 2"]
        assert stream.next_event().json() == {"unread": 4}
        after = sender("ann", "live again")
        assert stream.next_of("notification").nid == after


def test_header_wins_over_the_query_cursor(live_server, token_for, sender):
    first, second = sender("ann", "one"), sender("ann", "two")
    with open_stream(live_server, token_for("ann"), "&last_event_id=0-1",
                     headers={"Last-Event-ID": first}) as stream:
        assert stream.next_of("notification").nid == second
    with open_stream(live_server, token_for("ann"), f"&last_event_id={first}") as stream:
        assert stream.next_of("notification").nid == second


@pytest.mark.parametrize("cursor, reason", [
    ("garbage", "malformed last event id"),
    ("9999999999999-0", "unknown last event id"),
    ("{soon}", "unknown last event id"),  # 30 s ahead of the test's clock
    ("18446744073709551615-18446744073709551615", "unknown last event id"),
    ("1-0\r\nevent: x", "malformed last event id"),
])
def test_an_unusable_cursor_gets_reset(live_server, token_for, sender, cursor, reason):
    from urllib.parse import quote

    cursor = cursor.format(soon=f"{int(time.time() * 1000) + 30_000}-0")
    with open_stream(live_server, token_for("ann"), f"&last_event_id={quote(cursor)}") as stream:
        reset = stream.next_of("reset")
        assert reset.json() == {"reason": reason}
        assert reset.id is not None  # moves the browser's Last-Event-ID past the gap
        stream.next_of("unread")
        after = sender("ann", "after the reset")
        assert stream.next_of("notification").nid == after


def test_a_cursor_older_than_the_kept_history_gets_reset(live_server, http, api_key, token_for,
                                                         sender):
    oldest = sender("ann", "oldest")
    for _ in range(2):  # 2,000 more: the inbox (1,000 kept) trims the oldest away
        http.post("/api/v1/notifications/batch", headers={"Authorization": f"Bearer {api_key}"},
                  json={"notifications": [{"user_id": "ann", "title": "x"}] * 1000})
    with open_stream(live_server, token_for("ann"), headers={"Last-Event-ID": oldest}) as stream:
        assert stream.next_event().json() == {"reason": "older than the retained history"}


def test_filters_apply_live_and_on_replay(live_server, token_for, sender):
    start = sender("ann", "start")
    sender("ann", "a low mention", type="mention", priority="low")
    wanted_old = sender("ann", "an urgent mention", type="mention", priority="urgent")
    sender("ann", "an urgent billing", type="billing", priority="urgent")
    query = "&types=mention,security&min_priority=high"
    with open_stream(live_server, token_for("ann"), query,
                     headers={"Last-Event-ID": start}) as stream:
        assert stream.next_of("notification").nid == wanted_old
        skipped = sender("ann", "a normal security", type="security")
        wanted_new = sender("ann", "a high security", type="security", priority="high")
        events = []
        while not events or events[-1].nid != wanted_new:
            event = stream.next_event()
            if event.event in ("message", "notification"):
                events.append(event)
        # A filtered-out notification still moves Last-Event-ID (an id-only frame),
        # so a reconnect does not re-scan it.
        assert [(e.event, e.nid) for e in events[-2:]] == [("message", skipped),
                                                          ("notification", wanted_new)]


@pytest.mark.parametrize("query, field", [("&types=Bad%20Type", "types"), ("&types=", "types"),
                                          ("&min_priority=max", "min_priority")])
def test_bad_filters_are_422(live_server, token_for, query, field):
    with SSEStream(live_server.url, f"/events?token={token_for('ann')}{query}") as stream:
        assert stream.status == 422
        body = stream.reader.read(int(stream.headers["content-length"]))
        assert json.loads(body)["error"]["field"] == field


def test_read_and_delete_reach_every_open_stream(live_server, http, api_key, token_for, sender):
    auth = {"Authorization": f"Bearer {api_key}"}
    with open_stream(live_server, token_for("ann")) as tab1, \
            open_stream(live_server, token_for("ann")) as tab2:
        for tab in (tab1, tab2):
            tab.next_of("unread")
        ids = [sender("ann", f"n{i}") for i in range(3)]
        for tab in (tab1, tab2):
            assert [tab.next_of("notification").nid for _ in ids] == ids
            assert tab.next_of("unread").json() == {"unread": 3}
        http.post("/api/v1/users/ann/notifications/read", headers=auth, json={"ids": [ids[0]]})
        http.delete(f"/api/v1/users/ann/notifications/{ids[1]}", headers=auth)
        http.post("/api/v1/users/ann/notifications/read", headers=auth, json={"all": True})
        for tab in (tab1, tab2):
            assert tab.next_of("read").json() == {"ids": [ids[0]]}
            assert tab.next_event().json() == {"unread": 2}
            assert tab.next_of("deleted").json() == {"ids": [ids[1]]}
            assert tab.next_event().json() == {"unread": 1}
            assert tab.next_of("read").json() == {"ids": [ids[2]]}
            assert tab.next_event().json() == {"unread": 0}


def test_widget_token_endpoint(http, api_key, live_server):
    auth = {"Authorization": f"Bearer {api_key}"}
    minted = http.post("/api/v1/widget-tokens", headers=auth,
                       json={"user_id": "ann", "ttl_seconds": 60})
    assert minted.status_code == 201 and minted.json()["user_id"] == "ann"
    with open_stream(live_server, minted.json()["token"]) as stream:
        stream.next_of("unread")
    for body, field in [({"user_id": "ann", "ttl_seconds": 86401}, "ttl_seconds"),
                        ({"user_id": "a b"}, "user_id")]:
        bad = http.post("/api/v1/widget-tokens", headers=auth, json=body)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == field
    assert http.post("/api/v1/widget-tokens", json={"user_id": "ann"}).status_code == 401
