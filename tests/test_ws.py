"""GET /ws over a real WebSocket against gunicorn: delivery, resume, isolation, client
messages, expiry, and a closed client freeing its subscription."""

import time
from urllib.parse import quote

import pytest
from sse_client import SSEStream
from ws_client import Refused, WSClient

from notifier.core import widget_tokens as tokens
from notifier.core.keys import Keys

from conftest import (
    TEST_PREFIX,
    LiveServer,
    RedisServer,
    csrf_from,
    live_env,
    reconnect_race,
    subscribers,
)

KEYS = Keys(TEST_PREFIX)


@pytest.fixture(autouse=True)
def _empty_redis(redis_client):
    """Each test starts from an empty store."""


def open_socket(live_server, token, query="", **options) -> WSClient:
    return WSClient(live_server.url, f"/ws?token={token}{query}", **options)


def refusal(live_server, path, **options) -> Refused:
    with pytest.raises(Refused) as refused:
        WSClient(live_server.url, path, **options)
    return refused.value


def user_subscribers(redis_client, user_id) -> int:
    return subscribers(redis_client, KEYS.user_channel(user_id))


def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def session_cookie(http, store, username) -> str:
    store.accounts.create(username, "correct horse battery")
    form = csrf_from(http.get("/login").text)
    http.post("/login", data={"username": username, "password": "correct horse battery",
                              "csrf_token": form})
    return f"session={http.cookies['session']}"


def test_live_delivery_one_message_per_event(live_server, redis_client, token_for, sender):
    with open_socket(live_server, token_for("ann")) as ws:
        first = ws.next_event()
        assert first.event == "unread" and first.data == {"unread": 0}
        assert "_" in first.id  # a position to resume from, before any notification
        sent = sender("ann", "Hi there ✓", body="Hi\n\nevent: forged",
                      data={"x": "a\r\nevent: forged\n\ndata: x"},
                      priority="high", link="https://example.com/a")
        event = ws.next_event()
        assert event.event == "notification" and event.nid == sent
        body = event.data
        assert body["id"] == sent and body["title"] == "Hi there ✓" and body["read"] is False
        assert body["body"] == "Hi\n\nevent: forged"
        assert body["data"] == {"x": "a\r\nevent: forged\n\ndata: x"}
        assert set(body) == {"id", "user_id", "type", "title", "body", "data", "priority",
                             "link", "created_at", "expires_at", "read", "source", "group",
                             "starts_at", "ends_at", "actions", "thread"}
        unread = ws.next_event()
        assert (unread.event, unread.id, unread.data) == ("unread", event.id, {"unread": 1})


def test_no_compression_is_negotiated(live_server, token_for):
    # A compressor per socket would cost a worker ~90 KB per open socket.
    offer = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    with open_socket(live_server, token_for("ann"), headers=offer) as ws:
        assert "sec-websocket-extensions" not in ws.ws.getheaders()
        assert ws.next_event().data == {"unread": 0}


def test_the_same_events_as_the_sse_stream(live_server, token_for, sender):
    token = token_for("ann")
    start = sender("ann", "start")
    sent = [sender("ann", f"n{i}", type="mention" if i % 2 else "billing") for i in range(4)]
    query = f"&last_event_id={start}&types=mention"
    with SSEStream(live_server.url, f"/events?token={token}{query}") as sse, \
            open_socket(live_server, token, query) as ws:
        # SSE: an id-only frame for each billing one (shown as "message" here), 2
        # notifications and the unread count; the socket has no message for the first.
        over_sse = [sse.next_event() for _ in range(5)]
        over_ws = [ws.next_event() for _ in range(3)]
    assert [e.nid for e in over_ws if e.event == "notification"] == sent[1::2]
    assert [e.event for e in over_sse] == ["message", "notification", "message",
                                           "notification", "unread"]
    assert [(e.event, e.id, e.json()) for e in over_sse if e.event != "message"] == [
        (e.event, e.id, e.data) for e in over_ws]


def test_a_signed_in_session_opens_it_from_its_own_origin_only(live_server, http, store,
                                                              sender):
    cookie = session_cookie(http, store, "sam")
    for origin in (None, live_server.url):
        with WSClient(live_server.url, "/ws", headers={"Cookie": cookie}, origin=origin) as ws:
            ws.next_of("unread")
            sent = sender("sam")
            assert ws.next_of("notification").nid == sent
    # Another site's page holding the user's cookie: cross-site WebSocket hijacking.
    for origin in ("https://evil.example", f"http://localhost:{live_server.port}", "null"):
        refused = refusal(live_server, "/ws", headers={"Cookie": cookie}, origin=origin)
        assert refused.status == 403 and refused.json["error"]["code"] == "forbidden_origin"


@pytest.mark.parametrize("query", ["", "?token=", "?token=garbage",
                                   "?token=eyJ1IjoiYiIsImUiOjk5OTk5OTk5OTl9.forged"])
def test_no_valid_auth_is_401(live_server, query):
    assert refusal(live_server, f"/ws{query}").status == 401


def test_a_token_opens_only_its_own_users_socket(live_server, token_for, sender):
    ann = token_for("ann")
    forged = ann.replace(ann.split(".")[0], tokens.mint("other-secret", "bob", 60)[0]
                         .split(".")[0])
    assert refusal(live_server, f"/ws?token={forged}").status == 401
    with open_socket(live_server, ann, "&user_id=bob") as ws:
        ws.next_of("unread")
        sender("bob", "for bob")
        mine = sender("ann", "for ann")
        event = ws.next_of("notification")
        assert event.nid == mine and event.data["user_id"] == "ann"


@pytest.mark.parametrize(("origins", "origin", "status"), [
    (("https://app.example",), "https://app.example", None),
    (("https://app.example",), "https://evil.example", 403),
    (("https://app.example",), None, 403),  # no Origin: this service's own, not named
    ((), None, None),  # a token without origins is for this service's own pages
    ((), "https://app.example", 403),
])
def test_a_token_is_used_from_its_origins_only(live_server, origins, origin, status):
    token = tokens.mint("test-secret", "ann", 300, list(origins))[0]
    if status is None:
        with open_socket(live_server, token, origin=origin) as ws:
            assert ws.next_of("unread").data == {"unread": 0}
    else:
        refused = refusal(live_server, f"/ws?token={token}", origin=origin)
        assert refused.status == status
        assert refused.json["error"]["code"] == "forbidden_origin"


def test_resume_gets_exactly_the_missed_ones(live_server, token_for, sender):
    token = token_for("ann")
    with open_socket(live_server, token) as ws:
        ws.next_of("unread")
        seen = sender("ann", "seen")
        assert ws.next_of("notification").nid == seen
        position = ws.next_of("unread").id
    missed = [sender("ann", f"missed {i}") for i in range(3)]
    with open_socket(live_server, token, f"&last_event_id={position}") as ws:
        replayed = [ws.next_of("notification") for _ in missed]
        assert [e.nid for e in replayed] == missed
        assert [e.data["title"] for e in replayed] == ["missed 0", "missed 1", "missed 2"]
        assert ws.next_event().data == {"unread": 4}
        after = sender("ann", "live again")
        assert ws.next_of("notification").nid == after
    # A notification id works as a cursor too, as with Last-Event-ID.
    with open_socket(live_server, token, f"&last_event_id={seen}") as ws:
        assert [ws.next_of("notification").nid for _ in range(4)] == [*missed, after]


def test_a_filtered_out_notification_still_moves_the_position(live_server, token_for, sender):
    token = token_for("ann")
    with open_socket(live_server, token, "&types=mention") as ws:
        ws.next_of("unread")
        hidden = sender("ann", "billing", type="billing")
        unread = ws.next_of("unread")
        assert unread.nid == hidden  # the count after it carries its position
    with open_socket(live_server, token, f"&types=mention&last_event_id={unread.id}") as ws:
        wanted = sender("ann", "a mention", type="mention")
        assert ws.next_of("notification").nid == wanted


@pytest.mark.parametrize(("cursor", "reason"), [("garbage", "malformed last event id"),
                                                ("9999999999999-0", "unknown last event id")])
def test_an_unusable_cursor_gets_reset(live_server, token_for, sender, cursor, reason):
    with open_socket(live_server, token_for("ann"), f"&last_event_id={quote(cursor)}") as ws:
        reset = ws.next_of("reset")
        assert reset.data == {"reason": reason} and reset.id is not None
        after = sender("ann", "after the reset")
        assert ws.next_of("notification").nid == after


@pytest.mark.parametrize(("query", "field"), [("&types=Bad%20Type", "types"),
                                              ("&min_priority=max", "min_priority")])
def test_bad_filters_are_422(live_server, token_for, query, field):
    refused = refusal(live_server, f"/ws?token={token_for('ann')}{query}")
    assert refused.status == 422 and refused.json["error"]["field"] == field


def test_ping_pong(live_server, token_for):
    with open_socket(live_server, token_for("ann")) as ws:
        assert ws.ask({"type": "ping"}) == {"type": "pong"}
        assert ws.ask({"type": "ping", "ref": "p1"}) == {"type": "pong", "ref": "p1"}
        time.sleep(2.5)  # the server's own pings (every heartbeat: 1 s here)
        assert ws.pings >= 2
        assert ws.ask({"type": "ping"}) == {"type": "pong"}  # answered them: still open


def test_read_over_the_socket_reaches_an_open_sse_stream(live_server, token_for, sender):
    token = token_for("ann")
    with open_socket(live_server, token) as ws, \
            SSEStream(live_server.url, f"/events?token={token}") as tab:
        ws.next_of("unread")
        tab.next_of("unread")
        ids = [sender("ann", f"n{i}") for i in range(3)]
        assert [tab.next_of("notification").nid for _ in ids] == ids
        assert [ws.next_of("notification").nid for _ in ids] == ids
        assert ws.ask({"type": "read", "ids": [ids[0]], "ref": "r"}) == {
            "type": "read", "marked": 1, "unread": 2, "ref": "r"}
        assert tab.next_of("read").json() == {"ids": [ids[0]]}
        assert tab.next_event().json() == {"unread": 2}
        assert ws.next_of("read").data == {"ids": [ids[0]]}
        assert ws.ask({"type": "read", "all": True}) == {"type": "read", "marked": 2,
                                                         "unread": 0}
        assert tab.next_of("read").json() == {"ids": ids[1:]}
        assert tab.next_event().json() == {"unread": 0}


def test_read_thread_reads_all_and_only_that_threads_items(live_server, token_for, sender):
    in_thread = [sender("ann", f"c{i}", thread="pr-4411") for i in range(2)]
    sender("ann", "other", thread="pr-9")
    sender("bob", "same thread, another user", thread="pr-4411")
    with open_socket(live_server, token_for("ann")) as ws:
        assert ws.next_of("unread").data == {"unread": 3}
        assert ws.ask({"type": "read_thread", "thread": "pr-4411", "ref": "t"}) == {
            "type": "read", "marked": 2, "unread": 1, "ref": "t"}
        assert sorted(ws.next_of("read").data["ids"]) == sorted(in_thread)
        bad = ws.ask({"type": "read_thread", "thread": "-bad thread", "ref": "b"})
        assert (bad["type"], bad["ref"], bad["error"]["field"]) == ("error", "b", "thread")
    with open_socket(live_server, token_for("bob")) as ws:
        assert ws.next_of("unread").data == {"unread": 1}


def test_acks_record_seen_receipts_of_the_users_own_notifications(live_server, store,
                                                                   token_for, sender):
    mine, theirs = sender("ann", "mine"), sender("bob", "theirs")
    with open_socket(live_server, token_for("ann")) as ws:
        assert ws.ask({"type": "ack", "ids": [mine, theirs]}) == {"type": "ack",
                                                                  "seen": [mine]}
        assert ws.ask({"type": "ack", "ids": [mine]}) == {"type": "ack", "seen": []}
    assert store.receipts.get("ann", mine)["seen_at"] is not None
    assert store.receipts.get("bob", theirs)["seen_at"] is None


@pytest.mark.parametrize(("message", "code", "field"), [
    ("not json", "invalid_json", None),
    ("[1, 2]", "invalid_body", None),
    ({"kind": "ping"}, "invalid_field", "type"),
    ({"type": "subscribe"}, "unknown_type", "type"),
    ({"type": "read"}, "invalid_field", "ids"),
    ({"type": "read", "ids": ["1-0"], "all": True}, "invalid_field", "ids"),
    ({"type": "read", "ids": ["<script>"]}, "invalid_field", "ids[0]"),
    ({"type": "ack", "ids": []}, "invalid_field", "ids"),
    ({"type": "ack", "ids": ["1-0"] * 101}, "invalid_field", "ids"),
    ({"type": "ack", "ids": ["1-0"], "extra": 1}, "unknown_field", "extra"),
    ({"type": "ping", "ref": "x" * 65}, "invalid_field", "ref"),
    ({"type": "ping", "pad": "x" * 20_000}, "too_large", None),
])
def test_a_bad_message_gets_an_error_and_the_socket_stays_open(live_server, token_for,
                                                               message, code, field):
    with open_socket(live_server, token_for("ann")) as ws:
        ws.next_of("unread")
        reply = ws.ask(message)
        assert reply["type"] == "error" and reply["error"]["code"] == code, reply
        assert reply["error"].get("field") == field
        assert "Traceback" not in reply["error"]["message"]
        assert ws.ask({"type": "ping"}) == {"type": "pong"}


@pytest.mark.parametrize("message", [
    {"type": "subscribe", "ref": "m1"},
    {"type": "read", "ref": "m1"},
    {"type": "ack", "ids": ["1-0"], "extra": 1, "ref": "m1"},
    {"type": "read", "ids": ["<script>"], "all": "yes", "ref": "m1"},
    {"type": "ping", "pad": "x" * 20_000, "ref": "m1"},
])
def test_every_error_reply_carries_the_ref_it_answers(live_server, token_for, message):
    with open_socket(live_server, token_for("ann")) as ws:
        ws.next_of("unread")
        reply = ws.ask(message)
        assert reply["type"] == "error" and reply["ref"] == "m1", reply
        # A ref too long to carry back is itself the error, with none.
        long_ref = ws.ask({"type": "ping", "ref": "x" * 65})
        assert long_ref["error"]["field"] == "ref" and "ref" not in long_ref


def test_an_error_reply_lists_every_problem(live_server, token_for):
    with open_socket(live_server, token_for("ann")) as ws:
        ws.next_of("unread")
        reply = ws.ask({"type": "read", "ids": ["<script>"], "all": "yes", "x": 1,
                        "ref": "r"})
        assert reply["error"]["field"] == "x"
        assert [e["field"] for e in reply["error"]["errors"]] == ["x", "ids[0]", "all"]


def test_a_binary_message_is_refused_and_an_oversized_one_closes(live_server, redis_client,
                                                                 token_for):
    with open_socket(live_server, token_for("ann")) as ws:
        ws.ws.send_binary(b"\x00\x01")
        assert ws.replies.get(timeout=5)["error"]["code"] == "invalid_message"
        ws.send({"type": "ping", "pad": "x" * 70_000})  # past what is read at all
        # 1009, unless the server's close (with the rest unread) reset the connection
        # before the client read it.
        code = ws.wait_closed()
        assert code in (1009, None)
    assert eventually(lambda: user_subscribers(redis_client, "ann") == 0)


def test_token_expiry_sends_expired_then_closes_4001(live_server, redis_client, token_for):
    started = time.monotonic()
    with open_socket(live_server, token_for("exp", ttl=1.5)) as ws:
        assert ws.next_of("expired").data == {"reason": "token expired"}
        assert ws.wait_closed() == 4001
        assert ws.close_reason == "token expired"
    assert 1.0 < time.monotonic() - started < 4
    assert eventually(lambda: user_subscribers(redis_client, "exp") == 0)


@pytest.mark.parametrize("goes", ["drop", "close"])
def test_a_client_that_goes_away_frees_its_subscription(live_server, redis_client, token_for,
                                                        goes):
    ws = open_socket(live_server, token_for("gone"))
    ws.next_of("unread")
    assert user_subscribers(redis_client, "gone") == 1
    started = time.monotonic()
    getattr(ws, goes)()
    # Noticed at once (the server is reading the socket), not at the next heartbeat.
    assert eventually(lambda: user_subscribers(redis_client, "gone") == 0, timeout=5)
    assert time.monotonic() - started < 1.0


@pytest.mark.slow
def test_reconnecting_sockets_lose_nothing_and_see_nothing_twice(live_server, http, api_key,
                                                                 token_for):
    """Publish continuously while sockets drop and reconnect (last_event_id) at random."""

    def session(rng, received, state):
        position = state.get("position", "0-0")
        with open_socket(live_server, token_for("wsracer"), f"&last_event_id={position}") as ws:
            for _ in range(rng.randint(1, 25)):
                event = ws.next_event(within=3)
                state["position"] = event.id
                if event.event == "notification":
                    received.append(event.nid)
                if len(received) >= 200:
                    break

    reconnect_race(http, api_key, "wsracer", total=200, clients=4, session=session,
                   errors_caught=(OSError, TimeoutError, AssertionError, Refused))


def test_worker_shutdown_closes_with_1012(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    server = LiveServer(live_env(redis_server.url, tmp_path / "instance"), workers=1)
    try:
        token = tokens.mint("test-secret", "ann", 300)[0]
        with WSClient(server.url, f"/ws?token={token}") as ws:
            ws.next_of("unread")
            stopping = time.monotonic()
            server.process.send_signal(15)
            assert ws.wait_closed() == 1012
            assert time.monotonic() - stopping < 3  # not after the graceful timeout (10 s)
    finally:
        server.stop()
        redis_server.stop()


def test_a_users_messages_spend_the_widget_budget(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    env = {**live_env(redis_server.url, tmp_path / "instance"),
           "NOTIFIER_WIDGET_RATE_LIMIT": "2 per hour"}
    server = LiveServer(env, workers=1)
    try:
        token = tokens.mint("test-secret", "ann", 300)[0]
        with WSClient(server.url, f"/ws?token={token}") as ws:
            ws.next_of("unread")
            assert ws.ask({"type": "ack", "ids": ["1-0"]})["type"] == "ack"
            assert ws.ask({"type": "read", "all": True})["type"] == "read"
            over = ws.ask({"type": "ack", "ids": ["1-0"], "ref": "a3"})
            assert over["type"] == "error" and over["ref"] == "a3"
            assert over["error"]["code"] == "rate_limited"
            assert 3500 <= over["error"]["retry_after"] <= 3600
            assert ws.ask({"type": "ping"}) == {"type": "pong"}  # pings spend nothing
    finally:
        server.stop()
        redis_server.stop()
