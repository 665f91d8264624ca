"""The admin console: its guard on every route, CSRF, users and API keys."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for

from notifier import create_app
from notifier.admin.console import json_view
from notifier.backend import backend
from notifier.core.keys import Keys

from conftest import TEST_PREFIX, app_config, csrf_from, sign_in

KEYS = Keys(TEST_PREFIX)
PASSWORD = "correct horse battery"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_ARGUMENTS = {"user_id": "alice", "key_id": "0123456789abcdef"}


def admin_routes(app):
    """(endpoint, method, url) for every method of every rule under /admin."""
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.rule != "/admin" and not rule.rule.startswith("/admin/"):
                continue
            url = url_for(rule.endpoint, **{arg: SAMPLE_ARGUMENTS.get(arg, "1")
                                            for arg in rule.arguments})
            routes += [(rule.endpoint, method, url) for method in sorted(rule.methods)]
    return routes


def is_json_view(app, endpoint):
    return getattr(app.view_functions[endpoint], "admin_json", False)


@pytest.fixture
def admin(store):
    store.accounts.create("root", PASSWORD, admin=True)
    return "root"


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert sign_in(client, admin, PASSWORD).status_code == 302
    return client


def token_of(client, path="/admin"):
    return csrf_from(client.get(path).text)


def request_id_of(html):
    return re.search(r'name="request_id" type="hidden" value="([^"]+)"', html).group(1)


# -- the guard ----------------------------------------------------------------
def test_the_route_list_covers_the_console(app):
    endpoints = {endpoint for endpoint, _, _ in admin_routes(app)}
    assert {"admin.overview", "admin.users", "admin.users_disable", "admin.api_keys_create",
            "admin.api_keys_revoke", "admin.groups", "admin.overview_events",
            "admin.broadcasts_create", "admin.broadcasts_end", "admin.scheduled_cancel",
            "admin.groups_add_member", "admin.groups_delete", "admin.deliveries_retry",
            "admin.deliveries_discard", "admin.deliveries_timeline"} <= endpoints
    assert is_json_view(app, "admin.overview_events")
    methods = {method for _, method, _ in admin_routes(app)}
    assert {"GET", "HEAD", "OPTIONS", "POST"} <= methods


def test_anonymous_visitors_are_sent_to_sign_in_on_every_admin_route(app, client):
    token = csrf_from(client.get("/login").text)  # so POSTs pass CSRF and reach the guard
    for endpoint, method, url in admin_routes(app):
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        response = client.open(url, method=method, data=data)
        if is_json_view(app, endpoint):
            assert response.status_code == 401, (method, url)
            assert response.mimetype == "application/json", (method, url)
            if method != "HEAD":  # a HEAD answer has no body
                assert response.json["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 302, (method, url)
            location = urlsplit(response.headers["Location"])
            assert location.path == "/login", (method, url, location)
            expected = url if method in ("GET", "HEAD") else "/admin"
            assert parse_qs(location.query)["next"] == [expected], (method, url)


def test_signed_in_non_admins_get_403_on_every_admin_route(app, signed_in, store):
    token = token_of(signed_in, "/inbox")
    for endpoint, method, url in admin_routes(app):
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        response = signed_in.open(url, method=method, data=data)
        assert response.status_code == 403, (method, url)
        if is_json_view(app, endpoint):
            assert response.mimetype == "application/json", (method, url)
            if method != "HEAD":
                assert response.json["error"]["code"] == "forbidden"
        elif method != "HEAD":
            assert "admins only" in response.text
    assert not store.accounts.get("alice").is_admin


def test_a_non_admin_cannot_make_themself_admin(signed_in, store):
    token = token_of(signed_in, "/inbox")
    response = signed_in.post("/admin/users/alice/grant-admin", data={"csrf_token": token})
    assert response.status_code == 403
    assert not store.accounts.get("alice").is_admin


def test_json_and_event_stream_requests_get_json_errors(client, signed_in):
    anonymous = client.application.test_client()
    for accept in ("application/json", "text/event-stream"):
        response = anonymous.get("/admin/users", headers={"Accept": accept})
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
        response = signed_in.get("/admin/users", headers={"Accept": accept})
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    # A browser's usual Accept (HTML first, */* later) gets the page treatment.
    browser_accept = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert anonymous.get("/admin", headers={"Accept": browser_accept}).status_code == 302


def test_views_marked_json_get_json_errors_whatever_they_accept(redis_server, redis_client,
                                                                tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url))
    app.view_functions["admin.overview"] = json_view(lambda: {"ok": True})
    response = app.test_client().get("/admin")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_every_admin_post_needs_a_csrf_token(app, admin_client, store):
    posts = [(m, url) for _, m, url in admin_routes(app) if m in STATE_CHANGING]
    assert posts
    for method, url in posts:
        assert admin_client.open(url, method=method, data={}).status_code == 400, url
    assert store.api_keys.list() == []


def test_the_admin_link_shows_for_admins_only(admin_client, signed_in):
    assert 'href="/admin"' in admin_client.get("/inbox").text
    assert 'href="/admin"' not in signed_in.get("/inbox").text


def test_every_section_renders_with_its_nav(admin_client):
    for path, heading in [("/admin", "Overview"), ("/admin/broadcasts", "Broadcasts"),
                          ("/admin/scheduled", "Scheduled"), ("/admin/groups", "Groups"),
                          ("/admin/deliveries", "Deliveries"),
                          ("/admin/users", "Users"), ("/admin/api-keys", "API keys")]:
        page = admin_client.get(path).text
        assert f"<h1>{heading}</h1>" in page, path
        nav = page.split('aria-label="Admin sections"')[1].split("</nav>")[0]
        current = re.findall(r'<a href="([^"]+)" aria-current="page">', nav)
        assert current == [path], (path, current)
        assert f"<title>{heading} · Admin · Notifier</title>" in page


# -- users --------------------------------------------------------------------
def usernames(html):
    return re.findall(r'<span class="mono">([^<]+)</span>', html)


def test_users_newest_first_a_page_at_a_time(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, ADMIN_PAGE_SIZE=2))
    with app.app_context():
        accounts = backend().accounts
    for name in ("root", "u1", "u2", "u3", "u4"):
        accounts.create(name, PASSWORD, admin=name == "root")
    client = app.test_client()
    sign_in(client, "root", PASSWORD)
    first = client.get("/admin/users").text
    assert usernames(first) == ["u4", "u3"] and "Page 1 of 3" in first
    assert 'href="/admin/users?page=2"' in first
    assert usernames(client.get("/admin/users?page=2").text) == ["u2", "u1"]
    last = client.get("/admin/users?page=3").text
    assert usernames(last) == ["root"] and "Older" not in last
    assert "No accounts on this page" in client.get("/admin/users?page=9").text
    for bad in ("0", "-1", "x", "1e3", "9999999"):
        assert client.get(f"/admin/users?page={bad}").status_code == 400


def test_a_row_shows_role_status_and_age(admin_client, store):
    store.accounts.create("dora", PASSWORD)
    store.accounts.set_disabled("dora", True)
    page = admin_client.get("/admin/users").text
    dora = page[page.index('"mono">dora<'):].split("</tr>")[0]
    assert "Disabled" in dora and "User" in dora and "just now" in dora
    root = page[page.index('"mono">root<'):].split("</tr>")[0]
    assert "Admin" in root and "Active" in root and ">you<" in root
    assert "/admin/users/root/" not in root  # no buttons against oneself


def test_search_by_prefix_in_any_case(admin_client, store):
    for name in ("Bob", "bobby", "bo.b@example", "bo:b", "b-o", "rob", "bo_b"):
        store.accounts.create(name, PASSWORD)
    assert usernames(admin_client.get("/admin/users?q=bo").text) == [
        "bo.b@example", "bo:b", "bo_b", "Bob", "bobby"]
    assert usernames(admin_client.get("/admin/users?q=BOB").text) == ["Bob", "bobby"]
    assert usernames(admin_client.get("/admin/users?q=bo.").text) == ["bo.b@example"]
    assert usernames(admin_client.get("/admin/users?q=b-").text) == ["b-o"]
    assert "No username starts with" in admin_client.get("/admin/users?q=zz").text


def test_search_pages_by_name(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path))
    app = create_app(app_config(redis_server.url, ADMIN_PAGE_SIZE=2))
    with app.app_context():
        accounts = backend().accounts
    accounts.create("root", PASSWORD, admin=True)
    for name in ("ann", "Anna", "annie", "anne", "bert"):
        accounts.create(name, PASSWORD)
    client = app.test_client()
    sign_in(client, "root", PASSWORD)
    first = client.get("/admin/users?q=ann").text
    assert usernames(first) == ["ann", "Anna"]
    assert 'href="/admin/users?q=ann&amp;after=Anna"' in first
    second = client.get("/admin/users?q=ann&after=Anna").text
    assert usernames(second) == ["anne", "annie"] and "More" not in second
    assert "First results" in second


@pytest.mark.parametrize("query", ["[", "*", "a*", "\\", "a b", "ä", "{u:x}", "x" * 65,
                                   "(a", "-", "\x00", "%"])
def test_search_with_characters_usernames_cannot_have(admin_client, store, query):
    store.accounts.create("a-b", PASSWORD)
    response = admin_client.get("/admin/users", query_string={"q": query})
    if query == "-":  # a username character: an ordinary search
        assert response.status_code == 200 and usernames(response.text) == []
        return
    assert response.status_code == 200
    assert "so none starts with" in response.text and usernames(response.text) == []


def test_search_backfills_accounts_made_before_the_index(admin_client, store, redis_client):
    store.accounts.create("old-timer", PASSWORD)
    redis_client.delete(KEYS.account_names())  # as if made before the index existed
    assert usernames(admin_client.get("/admin/users?q=old").text) == ["old-timer"]
    assert redis_client.zcard(KEYS.account_names()) == 2
    assert redis_client.zscore(KEYS.account_names(), "old-timer\x00old-timer") == 0


def act(client, user_id, action, **data):
    return client.post(f"/admin/users/{user_id}/{action}",
                       data={"csrf_token": token_of(client), **data})


def test_make_admin_then_take_it_back(admin_client, app, user, store):
    response = act(admin_client, "alice", "grant-admin", next="/admin/users?q=al")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users?q=al"
    assert store.accounts.get("alice").is_admin
    assert "alice is now an admin." in admin_client.get("/admin/users").text
    alice = app.test_client()
    sign_in(alice, *user)
    assert alice.get("/admin").status_code == 200
    act(admin_client, "alice", "revoke-admin")
    assert not store.accounts.get("alice").is_admin
    assert "alice is no longer an admin." in admin_client.get("/admin/users").text
    assert alice.get("/admin").status_code == 403


def test_admins_cannot_demote_or_disable_themselves(admin_client, store):
    act(admin_client, "root", "revoke-admin")
    assert "You cannot remove your own admin rights" in admin_client.get("/admin/users").text
    act(admin_client, "root", "disable")
    assert "You cannot disable your own account" in admin_client.get("/admin/users").text
    root = store.accounts.get("root")
    assert root.is_admin and not root.disabled
    assert admin_client.get("/admin").status_code == 200


def test_disabling_signs_the_user_out_at_once(admin_client, app, user, store, redis_client):
    alice = app.test_client()
    sign_in(alice, *user)
    assert alice.get("/inbox").status_code == 200
    act(admin_client, "alice", "disable")
    assert store.accounts.get("alice").disabled
    assert redis_client.exists(KEYS.sessions("alice")) == 0
    response = alice.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert sign_in(app.test_client(), *user).status_code == 200  # refused
    act(admin_client, "alice", "enable")
    assert not store.accounts.get("alice").disabled
    assert alice.get("/inbox").status_code == 302  # the old session stays revoked
    assert sign_in(alice, *user).status_code == 302


def test_actions_on_unknown_accounts_write_nothing(admin_client, redis_client):
    for action in ("grant-admin", "revoke-admin", "disable", "enable"):
        assert act(admin_client, "ghost", action).status_code == 404
    assert act(admin_client, "bad%20name", "disable").status_code == 404
    assert redis_client.exists(KEYS.account("ghost")) == 0


def test_action_redirects_stay_local(admin_client, user):
    response = act(admin_client, "alice", "grant-admin", next="//evil.example/")
    assert response.headers["Location"] == "/admin/users"


# -- API keys -----------------------------------------------------------------
def create_key(client, name, request_id=None):
    page = client.get("/admin/api-keys").text
    return client.post("/admin/api-keys", data={
        "csrf_token": csrf_from(page), "name": name,
        "request_id": request_id or request_id_of(page),
        "scope_send": "y", "scope_read": "y", "scope_manage": "y", "scope_widget": "y"})


def test_a_new_key_is_shown_once_then_only_its_id(admin_client, store, redis_client):
    page = admin_client.get("/admin/api-keys").text
    request_id = request_id_of(page)
    response = create_key(admin_client, "billing-service", request_id)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(nk_[0-9a-f]{16}_[A-Za-z0-9_-]{43})"', response.text).group(1)
    key_id, secret_part = secret[3:19], secret[20:]
    assert store.api_keys.verify(secret).name == "billing-service"
    listing = admin_client.get("/admin/api-keys").text
    assert f"nk_{key_id}_…" in listing and secret not in listing
    assert secret_part not in listing
    # The same form sent again (reload, back button) makes no second key and shows nothing.
    again = create_key(admin_client, "billing-service", request_id)
    assert again.status_code == 302 and len(store.api_keys.list()) == 1
    assert "cannot be shown again" in admin_client.get(again.headers["Location"]).text
    # At rest: a digest, never the secret.
    stored = redis_client.hgetall(KEYS.api_key(key_id))
    assert secret_part.encode() not in b"".join(stored.values())
    assert stored[b"created_by"] == b"root"


def test_key_names_are_escaped(admin_client):
    created = create_key(admin_client, "<script>alert(1)</script>").text
    listing = admin_client.get("/admin/api-keys").text
    for page in (created, listing):
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("name, message", [
    ("", "Name the key"), ("   ", "Name the key"), ("x" * 101, "At most 100"),
    ("a\x07b", "No control characters"),
])
def test_bad_key_names_are_refused(admin_client, store, name, message):
    response = create_key(admin_client, name)
    assert response.status_code == 422 and message in response.text
    assert store.api_keys.list() == []


def test_a_tampered_form_is_refused(admin_client, store):
    response = create_key(admin_client, "svc", request_id="../../etc")
    assert response.status_code == 422 and "out of date" in response.text
    assert store.api_keys.list() == []


def test_a_revoked_key_gets_401(admin_client, client, store):
    secret = re.search(r'value="(nk_[^"]+)"', create_key(admin_client, "svc").text).group(1)
    key_id = secret[3:19]
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/users/alice/unread-count", headers=auth).status_code == 200
    confirm = admin_client.get(f"/admin/api-keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "Revoke “svc”?" in confirm.text
    response = admin_client.post(f"/admin/api-keys/{key_id}/revoke",
                                 data={"csrf_token": csrf_from(confirm.text)})
    assert response.status_code == 302
    assert "Revoked “svc”" in admin_client.get("/admin/api-keys").text
    assert client.get("/api/v1/users/alice/unread-count", headers=auth).status_code == 401
    assert store.api_keys.get(key_id).revoked
    assert "revoked already" in admin_client.get(f"/admin/api-keys/{key_id}/revoke").text


def test_revoking_an_unknown_key_is_404(admin_client):
    token = token_of(admin_client)
    for key_id in ("0123456789abcdef", "nothex"):
        assert admin_client.get(f"/admin/api-keys/{key_id}/revoke").status_code == 404
        assert admin_client.post(f"/admin/api-keys/{key_id}/revoke",
                                 data={"csrf_token": token}).status_code == 404


def test_last_use_is_shown(admin_client, client, store, api_key):
    assert "Never" in admin_client.get("/admin/api-keys").text
    client.get("/api/v1/users/alice/unread-count", headers={"Authorization": f"Bearer {api_key}"})
    key = store.api_keys.list()[0]
    assert key.last_used_at is not None
    row = admin_client.get("/admin/api-keys").text.split(f"nk_{key.key_id}_")[1].split("</tr>")[0]
    assert "Never" not in row and "just now" in row
