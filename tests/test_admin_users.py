"""Admin console, Users: create accounts with an invite link or a password, and
password-reset links; the one-time set-password page they open."""

import hashlib
import re
import time

import pytest

from notifier import create_app
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, all_keys, app_config, csrf_from, sign_in

KEYS = Keys(TEST_PREFIX)
PASSWORD = "correct horse battery"
LINK = re.compile(r'id="user-link" class="secret" type="text" readonly value="([^"]+)"')


@pytest.fixture
def admin_client(app, store):
    store.accounts.create("root", PASSWORD, admin=True)
    client = app.test_client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    return client


def create_user(admin_client, username, password="", admin=False):
    data = {"username": username, "password": password,
            "csrf_token": csrf_from(admin_client.get("/admin/users").text)}
    if admin:
        data["admin"] = "y"
    return admin_client.post("/admin/users", data=data)


def link_in(response) -> str:
    match = LINK.search(response.text)
    assert match, "no link on the page"
    return match.group(1)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def set_password(client, path, password="a brand new password", confirm=None):
    page = client.get(path)
    return client.post(path, data={"password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_from(page.text)})


def test_create_with_an_invite_link(app, admin_client, redis_client):
    made = create_user(admin_client, "newhire")
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    assert "Created the account newhire." in made.text and "Invite link for newhire" in made.text
    url = link_in(made)
    assert url.startswith("http://127.0.0.1:8000/invite/")
    token = url.rsplit("/", 1)[1]
    [key] = all_keys(redis_client, f"{TEST_PREFIX}:set-password-link:*")
    assert key.decode().endswith(hashlib.sha256(token.encode()).hexdigest())
    assert token.encode() not in b"".join(redis_client.hgetall(key).values())
    assert 7 * 86400 - 10 < redis_client.ttl(key) <= 7 * 86400
    account = redis_client.hgetall(KEYS.account("newhire"))
    assert account[b"admin"] == b"0" and b"password" not in account
    assert "No password yet" in admin_client.get("/admin/users").text
    assert sign_in(app.test_client(), "newhire", " ").status_code == 200

    person = app.test_client()
    page = person.get(path_of(url))
    assert page.status_code == 200 and "Choose a password for <strong>newhire</strong>" in page.text
    assert person.get(path_of(url)).status_code == 200  # looking does not use it up
    short = set_password(person, path_of(url), "short")
    assert short.status_code == 200 and "at least 10" in short.text
    done = set_password(person, path_of(url))
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"
    assert person.get("/inbox").status_code == 200
    assert not all_keys(redis_client, f"{TEST_PREFIX}:set-password-link:*")
    assert sign_in(app.test_client(), "newhire", "a brand new password").status_code == 302

    thief = app.test_client()
    assert thief.get(path_of(url)).status_code == 410
    assert thief.get("/inbox").status_code == 302


def test_a_used_link_cannot_set_a_password_again(app, admin_client):
    path = path_of(link_in(create_user(admin_client, "once")))
    first, second = app.test_client(), app.test_client()
    form_a, form_b = first.get(path), second.get(path)
    assert set_password(first, path).status_code == 302
    late = second.post(path, data={"password": "the thief's password", "confirm":
                                   "the thief's password", "csrf_token": csrf_from(form_b.text)})
    assert late.status_code == 410 and form_a.status_code == 200
    assert second.get("/inbox").status_code == 302
    assert sign_in(app.test_client(), "once", "the thief's password").status_code == 200


def test_create_an_admin_with_a_password(app, admin_client, redis_client):
    made = create_user(admin_client, "ops-lead", "a typed long password", admin=True)
    assert made.status_code == 302
    listed = admin_client.get(made.headers["Location"]).text
    assert "Created the admin account ops-lead" in listed
    assert redis_client.hget(KEYS.account("ops-lead"), "admin") == b"1"
    assert sign_in(app.test_client(), "ops-lead", "a typed long password").status_code == 302
    assert not all_keys(redis_client, f"{TEST_PREFIX}:set-password-link:*")


@pytest.mark.parametrize("username, password, status, message", [
    ("bad name", "", 422, "letters, digits"),
    ("", "", 422, "Enter a username."),
    ("fine", "short", 422, "at least 10"),
    ("ROOT", "", 409, "exists already"),
    ("root", "", 409, "exists already"),
])
def test_bad_new_users_are_refused(admin_client, redis_client, username, password, status,
                                   message):
    before = redis_client.zcard(KEYS.accounts())
    response = create_user(admin_client, username, password)
    assert response.status_code == status and message in response.text
    assert redis_client.zcard(KEYS.accounts()) == before
    assert not all_keys(redis_client, f"{TEST_PREFIX}:set-password-link:*")


def test_creating_needs_a_csrf_token(admin_client, redis_client):
    response = admin_client.post("/admin/users", data={"username": "sneaky"})
    assert response.status_code == 400 and not redis_client.exists(KEYS.account("sneaky"))


def test_a_reset_link_sets_a_new_password_and_signs_out_everywhere(app, admin_client, user,
                                                                    redis_client):
    laptop = app.test_client()
    assert sign_in(laptop, *user).status_code == 302
    page = admin_client.get("/admin/users")
    made = admin_client.post(f"/admin/users/{user[0]}/reset-password",
                             data={"csrf_token": csrf_from(page.text)})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    assert "Password reset link for alice" in made.text
    assert laptop.get("/inbox").status_code == 200  # nothing changes until it is used
    person = app.test_client()
    assert "Set a new password" in person.get(path_of(link_in(made))).text
    assert set_password(person, path_of(link_in(made))).status_code == 302
    assert laptop.get("/inbox").status_code == 302  # signed out
    assert person.get("/inbox").status_code == 200
    assert redis_client.zcard(KEYS.sessions(user[0])) == 1
    assert sign_in(app.test_client(), *user).status_code == 200
    assert sign_in(app.test_client(), user[0], "a brand new password").status_code == 302


def test_resetting_an_unknown_user_is_404(admin_client, redis_client):
    page = admin_client.get("/admin/users")
    response = admin_client.post("/admin/users/nobody/reset-password",
                                 data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 404
    assert not all_keys(redis_client, f"{TEST_PREFIX}:set-password-link:*")


def test_a_link_of_a_disabled_account_does_nothing(app, admin_client, user, store):
    page = admin_client.get("/admin/users")
    made = admin_client.post(f"/admin/users/{user[0]}/reset-password",
                             data={"csrf_token": csrf_from(page.text)})
    store.accounts.set_disabled(user[0], True)
    person = app.test_client()
    assert person.get(path_of(link_in(made))).status_code == 410
    assert person.get("/inbox").status_code == 302


def test_invite_links_expire(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, INVITE_LINK_TTL=1))
    from notifier.backend import backend

    with app.app_context():
        backend().accounts.create("root", PASSWORD, admin=True)
    admin = app.test_client()
    sign_in(admin, "root", PASSWORD)
    path = path_of(link_in(create_user(admin, "late")))
    time.sleep(1.3)
    assert app.test_client().get(path).status_code == 410


@pytest.mark.parametrize("token", ["nope", "A" * 43])
def test_unknown_invite_tokens_are_410(client, token):
    assert client.get(f"/invite/{token}").status_code == 410
