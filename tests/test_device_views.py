"""The devices panel and its routes: register a browser subscription (session + CSRF),
list and remove devices, the service worker's route, the browser label."""

import json

import pytest
from test_devices import FCM_TOKEN, web_keys

from notifier import create_app
from notifier.backend import backend
from notifier.stores.devices import device_id
from notifier.web.user_agent import device_label

from conftest import app_config, csrf_from, sign_in

ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc:def"
CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")


@pytest.fixture
def push_app(redis_server, redis_client, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFIER_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(redis_server.url, WEBPUSH_SUBJECT="mailto:ops@example.com"))


@pytest.fixture
def alice(push_app):
    client = push_app.test_client()
    with push_app.app_context():
        backend().accounts.create("alice", "correct horse battery")
        backend().accounts.create("bob", "correct horse battery")
    assert sign_in(client, "alice", "correct horse battery").status_code == 302
    return client


def post_subscription(client, body, csrf=None, **headers):
    if csrf is None:
        csrf = csrf_from(client.get("/settings/devices").text)
    return client.post("/settings/devices", data=json.dumps(body), headers={
        "Content-Type": "application/json", "X-CSRFToken": csrf, "User-Agent": CHROME_LINUX,
        **headers})


def test_labels_from_user_agents():
    assert device_label(CHROME_LINUX) == "Chrome on Linux"
    assert device_label("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
                        "Firefox/133.0") == "Firefox on Windows"
    assert device_label("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1"
                        " (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1") \
        == "Safari on iPhone"
    assert device_label("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                        "like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0") \
        == "Edge on Windows"
    assert device_label(None) == "Browser" and device_label("curl/8") == "Browser"


def test_the_panel_offers_web_push_with_the_vapid_key(alice, push_app):
    page = alice.get("/settings/devices")
    assert page.status_code == 200
    with push_app.app_context():
        from notifier.web.devices import vapid_public_key
        key = vapid_public_key()
    assert f'data-vapid-key="{key}"' in page.text and len(key) == 87
    assert "Enable browser notifications" in page.text and "No devices yet" in page.text


def test_register_this_browser(alice, push_app):
    keys = web_keys()
    made = post_subscription(alice, {"endpoint": ENDPOINT, "expirationTime": None, "keys": keys})
    assert made.status_code == 201, made.json
    assert made.json["device"]["id"] == device_id("web", ENDPOINT)
    assert made.json["device"]["label"] == "Chrome on Linux"
    assert made.json["device"]["push_service"] == "fcm.googleapis.com"
    again = post_subscription(alice, {"endpoint": ENDPOINT, "keys": keys})
    assert again.status_code == 200 and again.json["created"] is False
    with push_app.app_context():
        [target] = backend().devices.targets("alice", "web_push")
    assert target.address == {"endpoint": ENDPOINT, "keys": keys}
    page = alice.get("/settings/devices").text
    assert "Chrome on Linux" in page and "fcm.googleapis.com" in page
    assert f'data-device-id="{device_id("web", ENDPOINT)}"' in page


@pytest.mark.parametrize(("body", "field"), [
    ({"endpoint": "https://evil.example/push", "keys": None}, "keys"),
    ({"endpoint": "https://evil.example/push"}, "keys"),
    ({"endpoint": "https://169.254.169.254/latest/meta-data", "keys": "KEYS"}, "endpoint"),
    ({"endpoint": "http://fcm.googleapis.com/fcm/send/x", "keys": "KEYS"}, "endpoint"),
    ({"endpoint": ENDPOINT, "keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
     "keys.p256dh"),
    ({"endpoint": ENDPOINT, "keys": {"p256dh": "KEY", "auth": "c2hvcnQ"}}, "keys.auth"),
    ({"endpoint": ENDPOINT, "keys": {"p256dh": "KEY", "auth": "AUTH", "x": "1"}}, "keys.x"),
    ({"endpoint": ENDPOINT, "keys": "KEYS", "expirationTime": "soon"}, "expirationTime"),
])
def test_bad_subscriptions_are_refused_naming_the_field(alice, push_app, body, field):
    keys = web_keys()
    if body.get("keys") == "KEYS":
        body["keys"] = keys
    elif isinstance(body.get("keys"), dict):
        body["keys"] = {k: (keys["p256dh"] if v == "KEY" else keys["auth"] if v == "AUTH" else v)
                        for k, v in body["keys"].items()}
    response = post_subscription(alice, body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    with push_app.app_context():
        assert backend().devices.list("alice") == []


def test_registering_needs_a_session_and_the_csrf_token(push_app, alice):
    body = {"endpoint": ENDPOINT, "keys": web_keys()}
    anonymous = push_app.test_client()
    assert post_subscription(anonymous, body, csrf="").status_code in (400, 401)
    response = anonymous.post("/settings/devices", json=body,
                              headers={"X-CSRFToken": csrf_from(anonymous.get("/login").text)})
    assert response.status_code == 401
    assert post_subscription(alice, body, csrf="forged").status_code == 400
    assert alice.post("/settings/devices", data="{").status_code == 400  # no token
    assert post_subscription(alice, "not an object").status_code == 422
    with push_app.app_context():
        assert backend().devices.list("alice") == []


def test_web_push_off_says_so(client, signed_in):
    page = signed_in.get("/settings/devices")
    assert "Browser notifications are not set up on this server." in page.text
    assert 'data-vapid-key=""' in page.text
    response = post_subscription(signed_in, {"endpoint": ENDPOINT, "keys": web_keys()})
    assert response.status_code == 409 and response.json["error"]["code"] == "webpush_off"


def test_remove_a_device_only_from_ones_own_list(alice, push_app):
    with push_app.app_context():
        mine = backend().devices.add_mobile("alice", "fcm", FCM_TOKEN, "Pixel").device
        theirs = backend().devices.add_mobile("bob", "apns", "cd" * 32, "iPhone").device
    page = alice.get("/settings/devices").text
    assert "Pixel" in page and "iPhone" not in page and "Android app" in page
    csrf = csrf_from(page)
    assert alice.post(f"/settings/devices/{mine.id}/delete").status_code == 400  # no CSRF
    gone = alice.post(f"/settings/devices/{theirs.id}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 302
    removed = alice.post(f"/settings/devices/{mine.id}/delete",
                         data={"csrf_token": csrf, "next": "/settings/devices#devices"})
    assert removed.status_code == 302 and removed.location == "/settings/devices#devices"
    assert "Device removed" in alice.get("/settings/devices").text
    evil = alice.post(f"/settings/devices/{mine.id}/delete",
                      data={"csrf_token": csrf, "next": "//evil.example"})
    assert evil.location == "/settings/devices"
    assert alice.post("/settings/devices/x/delete", data={"csrf_token": csrf},
                      headers={"X-Requested-With": "fetch"}).status_code == 404
    with push_app.app_context():
        assert backend().devices.list("alice") == []
        assert [d.id for d in backend().devices.list("bob")] == [theirs.id]


def test_the_page_needs_sign_in(client):
    response = client.get("/settings/devices")
    assert response.status_code == 302 and "/login" in response.location


def test_service_worker_is_served_for_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert b"showNotification" in response.data and b"notificationclick" in response.data
