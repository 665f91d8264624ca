"""Sign-in links: minted through the API by a host application, used once in a browser."""

import hashlib
import time

import httpx
import pytest

from notifier import create_app
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, all_keys, app_config, sign_in

KEYS = Keys(TEST_PREFIX)


def mint(client, auth, user_id="user-1001", **fields):
    return client.post("/api/v1/sign-in-links", headers=auth,
                       json={"user_id": user_id, **fields})


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_link_signs_in_once_and_stores_only_a_digest(app, client, auth, redis_client):
    client.post("/api/v1/notifications", headers=auth,
                json={"user_id": "user-1001", "title": "Welcome aboard"})
    before = time.time()
    made = mint(client, auth, next="/inbox?unread=1")
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    body = made.json
    assert body["user_id"] == "user-1001" and body["expires_in"] == 300
    assert body["url"].startswith("http://127.0.0.1:8000/sign-in/")
    token = body["url"].rsplit("/", 1)[1]
    [key] = all_keys(redis_client, f"{TEST_PREFIX}:sign-in-link:*")
    assert key.decode().endswith(hashlib.sha256(token.encode()).hexdigest())
    stored = redis_client.hgetall(key)
    assert token.encode() not in b"".join([key, *stored.values()])
    assert stored[b"user_id"] == b"user-1001" and stored[b"next"] == b"/inbox?unread=1"
    assert before * 1000 - 1 <= int(stored[b"issued_at"]) <= time.time() * 1000 + 1
    assert 290 < redis_client.ttl(key) <= 300

    browser = app.test_client()
    used = browser.get(path_of(body["url"]))
    assert used.status_code == 302 and used.headers["Location"] == "/inbox?unread=1"
    assert "Welcome aboard" in browser.get("/inbox").text
    assert redis_client.zcard(KEYS.sessions("user-1001")) == 1

    again = app.test_client()
    replay = again.get(path_of(body["url"]))
    assert replay.status_code == 410 and "expired" in replay.text
    assert again.get("/inbox").status_code == 302  # signed in to nothing
    assert redis_client.zcard(KEYS.sessions("user-1001")) == 1


def test_the_first_use_makes_an_account_no_password_can_open(app, client, auth, redis_client):
    url = mint(client, auth, user_id="newcomer").json["url"]
    assert not redis_client.exists(KEYS.account("newcomer"))
    browser = app.test_client()
    assert browser.get(path_of(url)).headers["Location"] == "/inbox"
    account = redis_client.hgetall(KEYS.account("newcomer"))
    assert account[b"admin"] == b"0" and b"password" not in account
    for guess in ("", "x", "None", "!"):
        response = sign_in(app.test_client(), "newcomer", guess or " ")
        assert response.status_code == 200 and "Wrong username or password" in response.text


def test_a_signed_in_browser_switches_to_the_links_user(app, client, auth, user, redis_client):
    browser = app.test_client()
    assert sign_in(browser, *user).status_code == 302
    assert redis_client.zcard(KEYS.sessions(user[0])) == 1
    url = mint(client, auth, user_id="bob").json["url"]
    assert browser.get(path_of(url)).status_code == 302
    assert redis_client.zcard(KEYS.sessions(user[0])) == 0  # the old session is revoked
    assert "bob" in browser.get("/inbox").text


def test_no_link_for_admin_or_disabled_accounts(client, auth, store, redis_client):
    store.accounts.create("boss", "correct horse battery", admin=True)
    store.accounts.create("gone", "correct horse battery")
    store.accounts.set_disabled("gone", True)
    for user_id in ("boss", "gone"):
        refused = mint(client, auth, user_id=user_id)
        assert refused.status_code == 422
        assert refused.json["error"]["code"] == "not_allowed"
        assert refused.json["error"]["field"] == "user_id"
    assert not all_keys(redis_client, f"{TEST_PREFIX}:sign-in-link:*")


def test_the_account_is_checked_again_when_the_link_is_used(app, client, auth, store):
    store.accounts.create("carol", "correct horse battery")
    promoted = path_of(mint(client, auth, user_id="carol").json["url"])
    disabled_link = path_of(mint(client, auth, user_id="carol").json["url"])
    store.accounts.set_admin("carol", True)
    browser = app.test_client()
    refused = browser.get(promoted)
    assert refused.status_code == 403 and "cannot sign you in" in refused.text
    assert browser.get("/admin").status_code == 302  # not signed in
    store.accounts.set_admin("carol", False)
    store.accounts.set_disabled("carol", True)  # which also revokes the links issued before
    assert browser.get(disabled_link).status_code == 410
    assert browser.get("/inbox").status_code == 302


@pytest.mark.parametrize("body, field", [
    ({"user_id": "bad id"}, "user_id"),
    ({"user_id": ""}, "user_id"),
    ({"user_id": 7}, "user_id"),
    ({}, "user_id"),
    ({"user_id": "ok", "next": "//evil.example"}, "next"),
    ({"user_id": "ok", "next": "https://evil.example/"}, "next"),
    ({"user_id": "ok", "next": "/\\evil.example"}, "next"),
    ({"user_id": "ok", "next": "inbox"}, "next"),
    ({"user_id": "ok", "next": "/" + "a" * 2000}, "next"),
    ({"user_id": "ok", "ttl": 5}, "ttl"),
])
def test_bad_requests_name_their_field(client, auth, body, field, redis_client):
    response = client.post("/api/v1/sign-in-links", headers=auth, json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert not all_keys(redis_client, f"{TEST_PREFIX}:sign-in-link:*")


def test_the_api_key_is_required(client):
    response = client.post("/api/v1/sign-in-links", json={"user_id": "u"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/sign-in-links", json={"user_id": "u"},
                       headers={"Authorization": "Bearer nk_nope"}).status_code == 401


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 44, "%2e%2e"])
def test_unknown_tokens_sign_nobody_in(client, token):
    response = client.get(f"/sign-in/{token}")
    assert response.status_code in (404, 410)
    assert client.get("/inbox").status_code == 302


def test_links_expire(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, SIGN_IN_LINK_TTL=1,
                                PUBLIC_URL="https://notify.example.com/"))
    from notifier.backend import backend

    with app.app_context():
        key = backend().api_keys.create("app")[1]
    made = mint(app.test_client(), {"Authorization": f"Bearer {key}"}).json
    assert made["expires_in"] == 1 and made["url"].startswith("https://notify.example.com/sign-in/")
    time.sleep(1.3)
    browser = app.test_client()
    assert browser.get(path_of(made["url"])).status_code == 410
    assert browser.get("/inbox").status_code == 302


def test_through_the_real_server(http, api_key, redis_client):
    auth = {"Authorization": f"Bearer {api_key}"}
    sent = http.post("/api/v1/notifications", headers=auth,
                     json={"user_id": "live-1", "title": "Over real HTTP"})
    assert sent.status_code == 201
    made = http.post("/api/v1/sign-in-links", headers=auth,
                     json={"user_id": "live-1", "next": "/settings"})
    assert made.status_code == 201
    with httpx.Client(base_url=http.base_url, timeout=10) as browser:
        used = browser.get(path_of(made.json()["url"]))
        assert used.status_code == 302 and used.headers["location"] == "/settings"
        assert "Over real HTTP" in browser.get("/inbox").text
        assert browser.get(path_of(made.json()["url"])).status_code == 410
