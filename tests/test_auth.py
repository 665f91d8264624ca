"""Accounts: register, sign in and out, sessions, throttling, redirects, cookies."""

import pytest

from notifier import create_app
from notifier.keys import Keys
from notifier.security import safe_next

from conftest import TEST_PREFIX, app_config, csrf_from, sign_in

KEYS = Keys(TEST_PREFIX)


def register(client, username, password, confirm=None):
    page = client.get("/register")
    return client.post("/register", data={
        "username": username, "password": password, "confirm": confirm or password,
        "csrf_token": csrf_from(page.text)})


def test_register_signs_in_and_hashes_the_password(client, redis_client):
    response = register(client, "newbie", "a long enough pw")
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert client.get("/inbox").status_code == 200
    stored = redis_client.hget(KEYS.account("newbie"), "password").decode()
    assert stored.startswith("$argon2id$") and "a long enough pw" not in stored


@pytest.mark.parametrize("username, password, confirm, message", [
    ("bad name", "a long enough pw", None, "letters, digits"),
    ("ok", "short", None, "at least 10"),
    ("ok", "a long enough pw", "something else", "differ"),
])
def test_register_rejects_bad_input(client, username, password, confirm, message):
    response = register(client, username, password, confirm)
    assert response.status_code == 200 and message in response.text


def test_register_refuses_a_taken_name(client, user):
    assert "taken" in register(client, user[0], "another long pw").text


def test_registration_can_be_switched_off(redis_server, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, ALLOW_REGISTRATION=False))
    client = app.test_client()
    assert client.get("/register").status_code == 404
    assert "Create an account" not in client.get("/login").text


def test_wrong_password_and_unknown_user_look_the_same(client, user):
    wrong = sign_in(client, user[0], "not the password")
    unknown = sign_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 200
    assert "Wrong username or password." in wrong.text and "Wrong username" in unknown.text


def test_sign_in_rotates_the_session_and_sign_out_revokes_it(client, user, redis_client):
    client.get("/login")
    before = client.get_cookie("session")
    assert sign_in(client, *user).status_code == 302
    after = client.get_cookie("session")
    assert after is not None and (before is None or after.value != before.value)
    assert redis_client.zcard(KEYS.sessions(user[0])) == 1
    stolen = after.value
    page = client.get("/inbox")
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert redis_client.zcard(KEYS.sessions(user[0])) == 0
    client.set_cookie("session", stolen)  # a copy of the old cookie is worthless now
    assert client.get("/inbox").status_code == 302


def test_password_change_signs_out_other_sessions(app, user):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, *user)
    sign_in(phone, *user)
    page = laptop.get("/account/password")
    response = laptop.post("/account/password", data={
        "current": user[1], "password": "brand new password", "confirm": "brand new password",
        "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    assert laptop.get("/inbox").status_code == 200
    assert phone.get("/inbox").status_code == 302
    assert sign_in(app.test_client(), user[0], "brand new password").status_code == 302


def test_password_change_needs_the_current_one(signed_in, user):
    page = signed_in.get("/account/password")
    response = signed_in.post("/account/password", data={
        "current": "guess", "password": "brand new password", "confirm": "brand new password",
        "csrf_token": csrf_from(page.text)})
    assert "not your current password" in response.text


def test_disabled_account_cannot_sign_in(client, user, redis_client):
    redis_client.hset(KEYS.account(user[0]), "disabled", 1)
    assert sign_in(client, *user).status_code == 200


def test_forms_need_a_csrf_token(client, user):
    response = client.post("/login", data={"username": user[0], "password": user[1]})
    assert response.status_code == 400
    assert client.get("/inbox").status_code == 302


def test_login_is_throttled_per_account(app, user):
    for _ in range(10):
        assert sign_in(app.test_client(), user[0], "wrong password").status_code == 200
    blocked = sign_in(app.test_client(), *user)  # even the right password, for now
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert sign_in(app.test_client(), "someone-else", "x").status_code == 200


def test_successful_sign_ins_are_not_counted(app, user):
    for _ in range(12):
        assert sign_in(app.test_client(), *user).status_code == 302


def test_login_is_throttled_per_ip(app, store):
    for i in range(30):
        assert sign_in(app.test_client(), f"user{i}", "wrong").status_code == 200
    assert sign_in(app.test_client(), "user99", "wrong").status_code == 429


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "https:evil.example", "https://evil.example",
    "/%0d%0aevil", "\\\\evil.example", "javascript:alert(1)", "/%09/evil.example", "evil.example",
])
def test_next_never_leaves_the_site(client, user, target):
    response = sign_in(client, *user, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


def test_next_keeps_local_paths(client, user):
    response = sign_in(client, *user, next_url="/inbox?unread=1")
    assert response.headers["Location"] == "/inbox?unread=1"
    assert safe_next("/a/b?c=d#e") == "/a/b?c=d#e"


def test_session_cookie_flags(app, user):
    response = sign_in(app.test_client(), *user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    client = app.test_client()
    secure = client.get("/login", base_url="https://localhost")
    response = client.post("/login", base_url="https://localhost", data={
        "username": user[0], "password": user[1], "csrf_token": csrf_from(secure.text)})
    assert "Secure" in response.headers["Set-Cookie"]
