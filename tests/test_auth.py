"""Accounts: register, sign in and out, sessions, throttling, redirects, cookies."""

import pytest

from notifier import create_app
from notifier.backend import backend
from notifier.core.keys import Keys
from notifier.model.text_rules import safe_next

from conftest import TEST_PREFIX, app_config, csrf_from, sign_in

KEYS = Keys(TEST_PREFIX)


def register(client, username, password="a long enough pw", confirm=None, **environ):
    page = client.get("/register", environ_base=environ)
    return client.post("/register", environ_base=environ, data={
        "username": username, "password": password, "confirm": confirm or password,
        "csrf_token": csrf_from(page.text)})


@pytest.fixture
def open_app(redis_server, redis_client, tmp_path, monkeypatch):
    """The app with self-registration switched on."""
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url, ALLOW_REGISTRATION=True))


@pytest.fixture
def open_client(open_app):
    return open_app.test_client()


def test_register_signs_in_and_hashes_the_password(open_client, redis_client):
    response = register(open_client, "newbie", "a long enough pw")
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert open_client.get("/inbox").status_code == 200
    stored = redis_client.hget(KEYS.account("newbie"), "password").decode()
    assert stored.startswith("$argon2id$") and "a long enough pw" not in stored


@pytest.mark.parametrize("username, password, confirm, message", [
    ("bad name", "a long enough pw", None, "letters, digits"),
    ("ok", "short", None, "at least 10"),
    ("ok", "a long enough pw", "something else", "differ"),
])
def test_register_rejects_bad_input(open_client, username, password, confirm, message):
    response = register(open_client, username, password, confirm)
    assert response.status_code == 200 and message in response.text


def test_register_refuses_a_taken_name(open_client, open_app, redis_client):
    with open_app.app_context():
        backend().accounts.create("alice", "correct horse battery")
    assert NOT_AVAILABLE in register(open_client, "alice", "another long pw").text


def test_registration_is_off_by_default(client):
    assert client.get("/register").status_code == 404
    assert client.post("/register", data={"username": "x"}).status_code in (400, 404)
    login = client.get("/login").text
    assert "Create an account" not in login and "/register" not in login


def test_the_login_page_links_registration_when_it_is_on(open_client):
    assert "/register" in open_client.get("/login").text


NOT_AVAILABLE = "That username is not available."


def test_registration_cannot_take_over_an_addressed_recipient(open_app, redis_client):
    """A sender addressed user-1001 (say, its password-reset code): registering that id,
    in any case, is refused and creates nothing; a fresh id still registers."""
    with open_app.app_context():
        key = backend().api_keys.create("billing")[1]
    sender = open_app.test_client()
    sent = sender.post("/api/v1/notifications", headers={"Authorization": f"Bearer {key}"},
                       json={"user_id": "user-1001", "title": "Your reset code: 481516"})
    assert sent.status_code == 201
    for claim in ("user-1001", "USER-1001"):
        client = open_app.test_client()
        response = register(client, claim)
        assert response.status_code == 200 and NOT_AVAILABLE in response.text
        assert "481516" not in client.get("/inbox", follow_redirects=True).text
        assert not redis_client.exists(KEYS.account(claim))
        assert not redis_client.exists(KEYS.sessions(claim))
    assert redis_client.zcard(KEYS.accounts()) == 0
    assert register(open_app.test_client(), "user-1002").status_code == 302


def test_an_emptied_inbox_still_counts_as_addressed(open_app, open_client, redis_client):
    with open_app.app_context():
        key = backend().api_keys.create("billing")[1]
    auth = {"Authorization": f"Bearer {key}"}
    sent = open_client.post("/api/v1/notifications", headers=auth,
                            json={"user_id": "carol", "title": "hi"}).json
    nid = sent["notifications"][0]["id"]
    assert open_client.delete(f"/api/v1/users/carol/notifications/{nid}",
                              headers=auth).status_code == 200
    assert NOT_AVAILABLE in register(open_client, "carol").text
    assert not redis_client.exists(KEYS.account("carol"))


def test_registration_refuses_ids_with_preferences_or_devices(open_app, redis_client):
    with open_app.app_context():
        key = backend().api_keys.create("app")[1]
    api = open_app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    assert api.put("/api/v1/users/dave/preferences", headers=auth,
                   json={"timezone": "Europe/Berlin"}).status_code == 200
    assert api.post("/api/v1/users/erin/devices", headers=auth, json={
        "platform": "fcm", "token": "f" * 40}).status_code == 201
    for claim in ("dave", "erin"):
        assert NOT_AVAILABLE in register(open_app.test_client(), claim).text
        assert not redis_client.exists(KEYS.account(claim))


@pytest.mark.parametrize("claim", ["admin", "Administrator", "ROOT", "support", "notifier-ops",
                                   "postmaster"])
def test_registration_refuses_reserved_names(open_client, redis_client, claim):
    assert NOT_AVAILABLE in register(open_client, claim).text
    assert not redis_client.exists(KEYS.account(claim))


def test_registration_refuses_a_name_differing_only_in_case(open_app, open_client,
                                                           redis_client):
    with open_app.app_context():
        backend().accounts.create("Alice", "correct horse battery")
    for claim in ("alice", "ALICE"):
        assert NOT_AVAILABLE in register(open_client, claim).text
        assert not redis_client.exists(KEYS.account(claim))


def test_reserved_names_are_configurable(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, ALLOW_REGISTRATION=True,
                                RESERVED_USER_IDS=["staff-*"]))
    assert NOT_AVAILABLE in register(app.test_client(), "Staff-Bob").text
    assert register(app.test_client(), "admin2").status_code == 302


def test_registration_is_throttled_per_ip(open_app):
    for i in range(5):
        assert register(open_app.test_client(), f"bad name {i}",
                        REMOTE_ADDR="10.0.0.1").status_code == 200
    blocked = register(open_app.test_client(), "fresh-name", REMOTE_ADDR="10.0.0.1")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60
    assert "Try again in" in blocked.text
    assert register(open_app.test_client(), "fresh-name",
                    REMOTE_ADDR="10.0.0.2").status_code == 302


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


def sign_in_from(client, ip, username, password, *, scheme="http"):
    base = f"{scheme}://localhost"
    page = client.get("/login", environ_base={"REMOTE_ADDR": ip}, base_url=base)
    return client.post("/login", environ_base={"REMOTE_ADDR": ip}, base_url=base,
                       headers={"Referer": base + "/login"}, data={
        "username": username, "password": password, "csrf_token": csrf_from(page.text)})


def test_wrong_passwords_lock_the_client_out_not_the_account(app, user):
    attacker = app.test_client()
    for _ in range(10):
        assert sign_in_from(attacker, "203.0.113.7", user[0], "wrong").status_code == 200
    for _ in range(2):
        blocked = sign_in_from(attacker, "203.0.113.7", user[0], "wrong")
        assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    # The oldest failure leaves the 15 min window first (the limiter counts whole seconds).
    assert 800 < wait <= 901
    assert "Too many failed sign-ins" in blocked.text and "Try again in 15 minutes" in blocked.text
    # Even the right password waits, from that client ...
    assert sign_in_from(attacker, "203.0.113.7", *user).status_code == 429
    # ... but the account's owner, elsewhere, signs in.
    owner = app.test_client()
    assert sign_in_from(owner, "198.51.100.20", *user).status_code == 302
    assert owner.get("/inbox").status_code == 200


def test_a_known_client_signs_in_when_the_account_is_attacked_from_everywhere(
        redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, LOGIN_LIMIT_PER_ACCOUNT="6 per 15 minutes"))
    with app.app_context():
        backend().accounts.create("victim", "correct horse battery")
    laptop = app.test_client()  # signed in before: it holds a device cookie for victim
    assert sign_in_from(laptop, "198.51.100.20", "victim", "correct horse battery").status_code \
        == 302
    assert laptop.get_cookie("notifier_device", path="/login") is not None
    assert laptop.post("/logout", data={"csrf_token": csrf_from(
        laptop.get("/inbox").text)}).status_code == 302
    for i in range(6):  # a botnet: a few guesses each, the pair limit never reached
        assert sign_in_from(app.test_client(), f"203.0.113.{i}", "victim",
                            "guess").status_code == 200
    stranger = sign_in_from(app.test_client(), "192.0.2.50", "victim", "correct horse battery")
    assert stranger.status_code == 429 and int(stranger.headers["Retry-After"]) > 0
    # The laptop, even from an address the attack used, is exempt from the backstop.
    assert sign_in_from(laptop, "203.0.113.0", "victim", "correct horse battery").status_code \
        == 302
    assert laptop.get("/inbox").status_code == 200


def test_a_device_cookie_counts_only_for_its_own_username(
        redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, LOGIN_LIMIT_PER_ACCOUNT="3 per 15 minutes"))
    with app.app_context():
        backend().accounts.create("mallory", "mallory's long password")
    mallory = app.test_client()
    assert sign_in_from(mallory, "203.0.113.9", "mallory",
                        "mallory's long password").status_code == 302
    mallory.post("/logout", data={"csrf_token": csrf_from(mallory.get("/inbox").text)})
    for i in range(3):
        sign_in_from(app.test_client(), f"203.0.113.{i}", "victim", "guess")
    assert sign_in_from(mallory, "203.0.113.9", "victim", "guess").status_code == 429
    forged = mallory.get_cookie("notifier_device", path="/login").value[:-2] + "xx"
    mallory.set_cookie("notifier_device", forged, path="/login")
    assert sign_in_from(mallory, "203.0.113.9", "victim", "guess").status_code == 429


def test_device_cookie_flags(app, user):
    client = app.test_client()
    response = sign_in_from(client, "198.51.100.20", *user)
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("notifier_device="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/login" in cookie
    assert "Secure" not in cookie and "Max-Age=31536000" in cookie
    assert user[0] not in cookie.split(";")[0] or "." in cookie  # signed, not a bare name
    secure = sign_in_from(app.test_client(), "198.51.100.20", *user, scheme="https")
    assert secure.status_code == 302, secure.text
    cookie = next(c for c in secure.headers.getlist("Set-Cookie")
                  if c.startswith("notifier_device="))
    assert "Secure" in cookie


def test_successful_sign_ins_are_not_counted(app, user):
    for _ in range(12):
        assert sign_in(app.test_client(), *user).status_code == 302


def test_login_is_throttled_per_ip(app, store):
    for i in range(30):
        assert sign_in(app.test_client(), f"user{i}", "wrong").status_code == 200
    blocked = sign_in(app.test_client(), "user99", "wrong")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


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
