"""Taking credentials back: sign out everywhere, disabled accounts, revoked API keys and
scopes, expiring click links; open streams and sockets close at once."""

import time

import httpx
import pytest
from sse_client import SSEStream
from ws_client import WSClient

from notifier.api.openapi import openapi_document
from notifier.api.scopes import ROUTE_SCOPES, document_path
from notifier.core import widget_tokens as tokens
from notifier.stores.clicks import click_token
from notifier.stores.revocation import Credential

from conftest import csrf_from, sign_in

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


# -- which credentials a control message takes back (pure) -------------------------

@pytest.mark.parametrize(("credential", "message", "revoked"), [
    (Credential(100), {"k": "user", "u": "a", "before": 100}, True),
    (Credential(101), {"k": "user", "u": "a", "before": 100}, False),
    (Credential(100, session="s1"), {"k": "user", "u": "a", "before": 200}, True),
    (Credential(100, session="s1"), {"k": "user", "u": "a", "before": 200, "keep": "s1"},
     False),
    (Credential(100, session="s1"), {"k": "sessions", "u": "a", "keep": "s2"}, True),
    (Credential(100, session="s1"), {"k": "sessions", "u": "a", "keep": "s1"}, False),
    (Credential(100), {"k": "sessions", "u": "a", "keep": None}, False),
    (Credential(100, session="s1"), {"k": "session", "u": "a", "s": "s1"}, True),
    (Credential(100, session="s1"), {"k": "session", "u": "a", "s": "s2"}, False),
    (Credential(100, key_id="k1"), {"k": "key", "key": "k1"}, True),
    (Credential(100, key_id="k1"), {"k": "key", "key": "k2"}, False),
    (Credential(100), {"k": "key", "key": "k1"}, False),
    (Credential(100, key_id="k1"), {"k": "key_changed", "key": "k1"}, False),
    (Credential(100), {"k": "evict", "u": "a", "ids": ["x"]}, False),
])
def test_which_credentials_a_control_message_takes_back(credential, message, revoked):
    assert credential.revoked_by(message) is revoked


# -- API key scopes ----------------------------------------------------------------

def test_every_route_of_the_api_needs_a_documented_scope(app):
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api."):
            routed |= {(m, document_path(rule.rule)) for m in rule.methods & METHODS}
    routed.discard(("GET", "/openapi.json"))
    assert routed == set(ROUTE_SCOPES)
    paths = openapi_document()["paths"]
    for (method, path), scope in ROUTE_SCOPES.items():
        operation = paths[path][method.lower()]
        assert operation["x-required-scope"] == scope
        assert "403" in operation["responses"]


def test_a_send_only_key_can_neither_read_inboxes_nor_act_for_a_user(client, store):
    key = store.api_keys.create("backend", scopes=("send",))[1]
    headers = {"Authorization": f"Bearer {key}"}
    sent = client.post("/api/v1/notifications", headers=headers,
                       json={"user_id": "admin", "title": "Your reset code is 4411"})
    assert sent.status_code == 201
    refused = [
        client.get("/api/v1/users/admin/notifications", headers=headers),
        client.get("/api/v1/users/admin/unread-count", headers=headers),
        client.post("/api/v1/widget-tokens", headers=headers, json={"user_id": "admin"}),
        client.post("/api/v1/users/admin/notifications/read", headers=headers,
                    json={"all": True}),
        client.put("/api/v1/users/admin/preferences", headers=headers, json={}),
    ]
    for response in refused:
        assert response.status_code == 403, response.request.path
        assert response.json["error"]["code"] == "insufficient_scope"


def test_a_key_stored_without_scopes_keeps_every_scope(client, store, redis_client):
    key, secret = store.api_keys.create("old")
    redis_client.hdel(store.keys.api_key(key.key_id), "scopes")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/users/u1/notifications", headers=headers).status_code == 200
    assert client.post("/api/v1/widget-tokens", headers=headers,
                       json={"user_id": "u1"}).status_code == 201


def test_changing_scopes_applies_to_the_next_call(client, store):
    key, secret = store.api_keys.create("svc", scopes=("read",))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/users/u1/notifications", headers=headers).status_code == 200
    assert store.api_keys.set_scopes(key.key_id, ("send",))
    assert client.get("/api/v1/users/u1/notifications", headers=headers).status_code == 403


def test_a_hub_forgets_a_key_another_process_changed(live_server, http, store):
    key, secret = store.api_keys.create("svc", scopes=("read",))
    headers = {"Authorization": f"Bearer {secret}"}
    # A stream on each worker starts its hub, which hears the change.
    streams = [_token_stream(live_server, tokens.mint("test-secret", "lee", 60)[0])
               for _ in range(4)]
    try:
        for _ in range(4):  # cached by both workers
            assert http.get("/api/v1/users/u1/notifications", headers=headers).status_code \
                == 200
        store.api_keys.set_scopes(key.key_id, ("send",))
        time.sleep(0.3)
        for _ in range(4):
            assert http.get("/api/v1/users/u1/notifications", headers=headers).status_code \
                == 403
    finally:
        for stream in streams:
            stream.close()


def test_the_console_sets_scopes_when_creating_and_editing_a_key(client, store):
    store.accounts.create("root", "correct horse battery", admin=True)
    sign_in(client, "root", "correct horse battery")
    page = client.get("/admin/api-keys")
    request_id = page.text.split('name="request_id" type="hidden" value="')[1].split('"')[0]
    created = client.post("/admin/api-keys", data={
        "csrf_token": csrf_from(page.text), "request_id": request_id, "name": "mailer",
        "scope_send": "y"})
    assert created.status_code == 200
    key = next(k for k in store.api_keys.list() if k.name == "mailer")
    assert key.scopes == ("send",)
    assert "Scopes: send" in client.get("/admin/api-keys").text
    form = client.get(f"/admin/api-keys/{key.key_id}/scopes")
    none = client.post(f"/admin/api-keys/{key.key_id}/scopes",
                       data={"csrf_token": csrf_from(form.text)})
    assert none.status_code == 422 and "at least one scope" in none.text
    saved = client.post(f"/admin/api-keys/{key.key_id}/scopes", data={
        "csrf_token": csrf_from(form.text), "scope_read": "y", "scope_widget": "y"})
    assert saved.status_code == 302
    assert store.api_keys.get(key.key_id).scopes == ("read", "widget")


# -- widget tokens ----------------------------------------------------------------

def _mint(client, headers, user_id):
    response = client.post("/api/v1/widget-tokens", headers=headers, json={"user_id": user_id})
    assert response.status_code == 201
    return response.json["token"]


def _widget_call(client, token):
    return client.get("/api/v1/me/unread-count", headers={"Authorization": f"Bearer {token}"})


def test_sign_out_everywhere_revokes_sessions_and_widget_tokens(client, auth, user, store):
    token = _mint(client, auth, "alice")
    sign_in(client, *user)
    assert _widget_call(client, token).status_code == 200
    page = client.get("/account/password")
    response = client.post("/account/sign-out-everywhere",
                           data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    refused = _widget_call(client, token)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "token_revoked"
    assert client.get("/inbox").status_code == 302  # signed out here too
    assert store.redis.zcard(store.keys.sessions("alice")) == 0
    time.sleep(0.002)  # a token minted in the same millisecond counts as before
    assert _widget_call(client, _mint(client, auth, "alice")).status_code == 200


def test_signing_out_everywhere_needs_the_csrf_token(signed_in, store):
    assert signed_in.post("/account/sign-out-everywhere").status_code == 400
    assert store.redis.zcard(store.keys.sessions("alice")) == 1


def test_disabling_an_account_revokes_its_widget_tokens(client, auth, user, store):
    token = _mint(client, auth, "alice")
    assert store.accounts.set_disabled("alice", True)
    assert _widget_call(client, token).json["error"]["code"] == "token_revoked"
    store.accounts.set_disabled("alice", False)
    assert _widget_call(client, token).status_code == 401  # enabling gives nothing back


def test_revoking_an_api_key_revokes_the_tokens_it_minted(client, store):
    key, secret = store.api_keys.create("host")
    other = store.api_keys.create("other")[1]
    token = _mint(client, {"Authorization": f"Bearer {secret}"}, "bob")
    kept = _mint(client, {"Authorization": f"Bearer {other}"}, "bob")
    store.api_keys.revoke(key.key_id)
    assert _widget_call(client, token).json["error"]["code"] == "token_revoked"
    assert _widget_call(client, kept).status_code == 200


def test_a_forged_key_id_in_a_token_is_refused():
    token = tokens.mint("s", "bob", 60, key_id="../../x")[0]
    assert tokens.read("s", token) is None
    assert tokens.read("s", tokens.mint("s", "bob", 60, key_id="0123456789abcdef")[0]).key_id \
        == "0123456789abcdef"


def _sign_in_link(client, headers, user_id):
    response = client.post("/api/v1/sign-in-links", headers=headers, json={"user_id": user_id})
    assert response.status_code == 201, response.text
    return response.json["url"].removeprefix("http://127.0.0.1:8000")


def test_sign_in_links_die_with_sign_out_everywhere_and_with_their_key(client, store):
    key, secret = store.api_keys.create("host")
    headers = {"Authorization": f"Bearer {secret}"}
    stale = _sign_in_link(client, headers, "mia")
    store.accounts.sign_out_everywhere("mia")
    assert client.get(stale).status_code == 410
    time.sleep(0.002)
    fresh, orphaned = _sign_in_link(client, headers, "mia"), _sign_in_link(client, headers, "mia")
    assert client.get(fresh).status_code == 302
    store.api_keys.revoke(key.key_id)
    assert client.get("/inbox").status_code == 302  # the session the key's link started ended
    assert client.get(orphaned).status_code == 410
    assert client.get("/inbox").status_code == 302


def test_revoking_a_key_ends_the_sessions_its_sign_in_links_started(app, client, store):
    key, secret = store.api_keys.create("leaked")
    headers = {"Authorization": f"Bearer {secret}"}
    browser = app.test_client()
    assert browser.get(_sign_in_link(client, headers, "ned")).status_code == 302
    assert browser.get("/inbox").status_code == 200
    store.accounts.create("ola", "correct horse battery")
    sign_in(client, "ola", "correct horse battery")  # a password session: no key behind it
    store.api_keys.revoke(key.key_id)
    assert browser.get("/inbox").status_code == 302
    assert client.get("/inbox").status_code == 200


def test_minting_sign_in_links_needs_the_widget_scope(client, store):
    secret = store.api_keys.create("sender", scopes=("send", "read", "manage"))[1]
    response = client.post("/api/v1/sign-in-links", json={"user_id": "mia"},
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient_scope"


# -- open streams and sockets close at once ---------------------------------------

def _token_stream(live_server, token, path="/events"):
    stream = SSEStream(live_server.url, f"{path}?token={token}")
    assert stream.status == 200
    stream.next_of("unread")
    return stream


def test_disabling_an_account_closes_its_open_token_stream(live_server, http, api_key, store):
    store.accounts.create("dora", "correct horse battery")
    token = http.post("/api/v1/widget-tokens", json={"user_id": "dora"},
                      headers={"Authorization": f"Bearer {api_key}"}).json()["token"]
    with _token_stream(live_server, token) as stream:
        store.accounts.set_disabled("dora", True)
        event = stream.next_of("revoked", within=5)
        assert event.json() == {"reason": "signed out"}
        assert stream.next_event(within=5) is None  # and the server closed it
    again = SSEStream(live_server.url, f"/events?token={token}")
    assert again.status == 401
    again.close()


def test_revoking_a_key_closes_the_streams_of_its_tokens_only(live_server, http, store,
                                                              sender):
    key, secret = store.api_keys.create("host-site")
    minted = http.post("/api/v1/widget-tokens", json={"user_id": "erin"},
                       headers={"Authorization": f"Bearer {secret}"}).json()["token"]
    with _token_stream(live_server, minted) as stream, \
            _token_stream(live_server, tokens.mint("test-secret", "erin", 300)[0]) as other:
        store.api_keys.revoke(key.key_id)
        stream.next_of("revoked", within=5)
        assert stream.next_event(within=5) is None
        nid = sender("erin", "still here")
        assert other.next_of("notification").nid == nid


def _signed_in_http(live_server, store, name):
    store.accounts.create(name, "correct horse battery")
    browser = httpx.Client(base_url=live_server.url, timeout=10)
    page = browser.get("/login")
    response = browser.post("/login", data={
        "username": name, "password": "correct horse battery",
        "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    return browser


def test_sign_out_everywhere_closes_session_streams_on_every_worker(live_server, store):
    browser = _signed_in_http(live_server, store, "fay")
    cookie = f"session={browser.cookies['session']}"
    streams = [SSEStream(live_server.url, "/events", headers={"Cookie": cookie})
               for _ in range(4)]  # two workers: reuse_port spreads them
    try:
        for stream in streams:
            assert stream.status == 200
            stream.next_of("unread")
        page = browser.get("/account/password")
        response = browser.post("/account/sign-out-everywhere",
                                data={"csrf_token": csrf_from(page.text)})
        assert response.status_code == 302
        for stream in streams:
            stream.next_of("revoked", within=5)
    finally:
        for stream in streams:
            stream.close()
        browser.close()


def test_revoking_a_key_closes_the_session_streams_its_links_started(live_server, http,
                                                                    store):
    key, secret = store.api_keys.create("leaked-host")
    made = http.post("/api/v1/sign-in-links", json={"user_id": "pam"},
                     headers={"Authorization": f"Bearer {secret}"})
    browser = httpx.Client(base_url=live_server.url, timeout=10)
    try:
        path = made.json()["url"].removeprefix("http://127.0.0.1:8000")
        assert browser.get(path).status_code == 302
        with SSEStream(live_server.url, "/events",
                       headers={"Cookie": f"session={browser.cookies['session']}"}) as stream:
            stream.next_of("unread")
            store.api_keys.revoke(key.key_id)
            stream.next_of("revoked", within=5)
        assert browser.get("/inbox").status_code == 302
    finally:
        browser.close()


def test_signing_out_closes_that_sessions_streams_only(live_server, store):
    first = _signed_in_http(live_server, store, "gus")
    second = httpx.Client(base_url=live_server.url, timeout=10)
    page = second.get("/login")
    second.post("/login", data={"username": "gus", "password": "correct horse battery",
                                "csrf_token": csrf_from(page.text)})
    mine = SSEStream(live_server.url, "/events",
                     headers={"Cookie": f"session={first.cookies['session']}"})
    theirs = SSEStream(live_server.url, "/events",
                       headers={"Cookie": f"session={second.cookies['session']}"})
    try:
        mine.next_of("unread")
        theirs.next_of("unread")
        csrf = csrf_from(first.get("/account/password").text)
        assert first.post("/logout", data={"csrf_token": csrf}).status_code == 302
        mine.next_of("revoked", within=5)
        assert theirs.next_event(include_comments=True, within=3) is not None
        assert not theirs.closed
    finally:
        mine.close()
        theirs.close()
        first.close()
        second.close()


def test_a_revoked_socket_closes_with_its_own_code(live_server, token_for, store):
    with WSClient(live_server.url, f"/ws?token={token_for('hank')}") as ws:
        ws.next_of("unread")
        store.revocations.revoke_user("hank")
        assert ws.wait_closed(within=5) == 4003


# -- the per-user cap --------------------------------------------------------------

def test_the_newest_streams_win_past_the_per_user_cap(live_server, token_for, sender):
    token = token_for("ivy")
    streams = []
    try:
        for _ in range(20):
            streams.append(_token_stream(live_server, token))
        newest = _token_stream(live_server, token)
        evicted = streams[0].next_of("evicted", within=5)
        assert evicted.retry == 60000
        assert evicted.json()["reason"] == "the user opened newer streams"
        assert streams[0].next_event(within=5) is None
        nid = sender("ivy", "for the open ones")
        for stream in [*streams[1:], newest]:
            assert stream.next_of("notification").nid == nid
        newest.close()
    finally:
        for stream in streams:
            stream.close()


@pytest.fixture(scope="module")
def capped_server(redis_server, tmp_path_factory):
    from conftest import LiveServer, live_env

    env = live_env(redis_server.url, tmp_path_factory.mktemp("capped"))
    server = LiveServer({**env, "NOTIFIER_STREAMS_PER_ADDRESS": "3",
                         "NOTIFIER_STREAMS_PER_USER": "2"}, workers=1)
    yield server
    server.stop()


def _open_when_room(server, token):
    """A stream, once the streams an earlier test closed have left the server."""
    deadline = time.monotonic() + 10
    while True:
        stream = SSEStream(server.url, f"/events?token={token}")
        if stream.next_event(within=5).event == "unread":
            return stream
        stream.close()
        assert time.monotonic() < deadline, "the address never got its slot back"
        time.sleep(0.3)


def test_one_address_holds_only_its_share_of_streams(capped_server, token_for):
    streams = [_open_when_room(capped_server, token_for(f"user{i}")) for i in range(3)]
    try:
        refused = SSEStream(capped_server.url, f"/events?token={token_for('user9')}")
        assert refused.status == 200  # an EventSource gives up for good on other statuses
        event = refused.next_of("evicted")
        assert event.retry == 60000
        assert event.json()["reason"] == "too many streams from this address"
        assert refused.next_event(within=5) is None
        refused.close()
        streams.pop().close()  # the server notices at the stream's next heartbeat (1 s)
        streams.append(_open_when_room(capped_server, token_for("user9")))
    finally:
        for stream in streams:
            stream.close()


def test_the_per_user_cap_is_a_setting_and_covers_sockets(capped_server, token_for):
    time.sleep(2)  # streams of earlier tests leave at their next heartbeat (1 s)
    token = token_for("jo")
    first = _token_stream(capped_server, token)
    second = _token_stream(capped_server, token)
    with WSClient(capped_server.url, f"/ws?token={token}") as ws:
        ws.next_of("unread")
        first.next_of("evicted", within=5)
        newer = _token_stream(capped_server, token)
        second.next_of("evicted", within=5)
        newest = _token_stream(capped_server, token)
        assert ws.wait_closed(within=5) == 4029
        newer.close()
        newest.close()
    first.close()
    second.close()


# -- click links -------------------------------------------------------------------

def test_click_links_expire(app, client, auth):
    sent = client.post("/api/v1/notifications", headers=auth, json={
        "user_id": "kim", "title": "Report", "link": "https://example.com/r"})
    nid = sent.json["notifications"][0]["id"]
    link = f"/r/{click_token('test-secret', 'kim', nid)}"
    assert client.get(link).status_code == 303
    app.config["CLICK_LINK_TTL"] = -1  # every link is older than that
    expired = client.get(link)
    assert expired.status_code == 410 and "expired" in expired.text


def test_a_batch_records_opens_before_closes_and_keeps_the_newest(store):
    from notifier.stores.stream_caps import StreamCaps

    caps = StreamCaps(store.redis, store.keys, per_user=2)
    key = store.keys.open_streams("zed")
    assert caps.apply([("zed", "p:1", 1), ("zed", "p:2", 2)], [("zed", "p:1")]) == 0
    assert store.redis.zrange(key, 0, -1) == [b"p:2"]
    assert caps.apply([("zed", "p:3", 3), ("zed", "p:4", 4)], []) == 1  # p:2 told to close
    assert store.redis.zrange(key, 0, -1) == [b"p:3", b"p:4"]
    assert 0 < store.redis.ttl(key) <= 24 * 3600
