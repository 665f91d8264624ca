"""The devices panel in headless Chromium, end to end with a local push service.

Headless Chromium cannot reach a real push service here (``pushManager.subscribe``
never settles without the network, and Playwright's contexts are incognito, where
Chrome has no Push API at all). So the page's ``PushManager`` hands out a
subscription made by the local push service (its endpoint and the public half of
keys the service holds), exactly what a browser's subscribe() returns. Everything
else is real: the permission prompt (granted), the service worker registering at
/sw.js, push.js posting the subscription with the CSRF token, the server storing
it, the web push adapter encrypting for it, the push service decrypting, and the
service worker showing the decrypted payload (delivered through the DevTools
protocol's ServiceWorker.deliverPushMessage, as a push service would).
"""

import base64
import json
import time

import pytest
from playwright.sync_api import expect
from test_devices import FCM_TOKEN

from notifier.delivery.channels import vapid, webpush

from channel_helpers import message, notification
from conftest import ARTIFACTS, LiveServer, live_env
from peers.tls import trust_test_ca
from peers.webpush import PushService, unb64

pytestmark = pytest.mark.browser

# Stands in for the browser's push service: subscribe() resolves with the
# subscription the test's push service made; the state survives reloads.
FAKE_PUSH_MANAGER = """
(() => {
  const info = %s;
  const subscribed = () => localStorage.getItem("test.subscribed") === "1";
  const subscription = (key) => ({
    endpoint: info.endpoint,
    expirationTime: null,
    options: {userVisibleOnly: true, applicationServerKey: key},
    toJSON: () => info,
    unsubscribe: async () => { localStorage.setItem("test.subscribed", "0"); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    localStorage.setItem("test.key", btoa(String.fromCharCode(...key)));
    localStorage.setItem("test.subscribed", "1");
    return subscription(key.buffer);
  };
  PushManager.prototype.getSubscription = async function () {
    if (!subscribed()) return null;
    const key = Uint8Array.from(atob(localStorage.getItem("test.key")), (c) => c.charCodeAt(0));
    return subscription(key.buffer);
  };
})();
"""


@pytest.fixture(scope="module")
def push_server(redis_server, tmp_path_factory):
    instance = tmp_path_factory.mktemp("push-live")
    env = {**live_env(redis_server.url, instance),
           "NOTIFIER_WEBPUSH_SUBJECT": "mailto:ops@example.com",
           "NOTIFIER_WEBPUSH_ALLOWED_HOSTS": json.dumps(["127.0.0.1"])}
    server = LiveServer(env, workers=1)
    server.instance = instance
    yield server
    server.stop()


@pytest.fixture
def push_service(monkeypatch):
    service = PushService(trust_test_ca(monkeypatch))
    yield service
    service.stop()


def sign_in(page, base_url):
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/inbox")


def shown_notifications(page):
    return page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        const shown = await registration.getNotifications();
        return shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                  icon: n.icon, requireInteraction: n.requireInteraction}));
    }""")


def wait_for_notifications(page, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while len(shown := shown_notifications(page)) < count:
        assert time.monotonic() < deadline, f"{len(shown)} notifications shown, not {count}"
        page.wait_for_timeout(100)
    return shown


def test_enable_browser_notifications_end_to_end(browser, push_server, push_service, store,
                                                 redis_client):
    store.accounts.create("alice", "correct horse battery")
    server_key = vapid.public_key(vapid.load_vapid(push_server.instance))
    subscription = push_service.subscribe(server_key)
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.grant_permissions(["notifications"], origin=push_server.url)
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(subscription.info()))
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, push_server.url)
        page.goto(f"{push_server.url}/settings/devices")
        expect(page.get_by_text("No devices yet")).to_be_visible()
        page.get_by_role("button", name="Enable browser notifications").click()

        # push.js registered the worker, subscribed with the server's key and posted it.
        expect(page.locator(".device")).to_have_count(1)
        row = page.locator(".device").first
        expect(row).to_contain_text("Chrome on Linux")
        expect(row.locator("[data-this-browser]")).to_be_visible()
        expect(page.locator("[data-push-status]")).to_have_text("On for this browser.")
        expect(page.get_by_role("button", name="Enable browser notifications")).to_be_hidden()
        used_key = base64.b64decode(page.evaluate("localStorage.getItem('test.key')"))
        assert used_key == unb64(server_key)  # the server's VAPID key
        [target] = store.devices.targets("alice", "web_push")
        assert target.address == {"endpoint": subscription.endpoint,
                                  "keys": subscription.info()["keys"]}
        assert page.evaluate("navigator.serviceWorker.getRegistration('/')"
                             ".then(r => r.active.scriptURL)") == push_server.url + "/sw.js"

        # The adapter encrypts for the keys the browser posted; the push service decrypts.
        adapter = webpush.from_config({"WEBPUSH_SUBJECT": "mailto:ops@example.com",
                                       "PUBLIC_URL": push_server.url}, str(push_server.instance))
        note = notification("Deploy finished", body="prod is on <v2>", priority="urgent",
                            link="https://ci.example/runs/9")
        assert adapter.send(message(note), target).status == "accepted", push_service.rejected
        adapter.close()
        [delivered] = push_service.delivered
        assert delivered.payload["title"] == "Deploy finished"

        # The service worker shows what the push service delivers, as the browser would.
        cdp = context.new_cdp_session(page)
        registrations = []
        cdp.on("ServiceWorker.workerRegistrationUpdated",
               lambda event: registrations.extend(event["registrations"]))
        cdp.send("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while not [r for r in registrations if r["scopeURL"] == push_server.url + "/"]:
            assert time.monotonic() < deadline, registrations
            page.wait_for_timeout(50)
        [registration] = [r for r in registrations if r["scopeURL"] == push_server.url + "/"]
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": push_server.url, "registrationId": registration["registrationId"],
            "data": json.dumps(delivered.payload)})
        [shown] = wait_for_notifications(page, 1)
        assert shown["title"] == "Deploy finished" and shown["body"] == "prod is on <v2>"
        assert shown["data"]["url"] == "https://ci.example/runs/9"
        assert shown["tag"] == note["id"] and shown["requireInteraction"] is True
        assert shown["icon"].endswith("/static/icon-192.png")

        # A phone registered through the API shows too; removing this browser unsubscribes it.
        store.devices.add_mobile("alice", "fcm", FCM_TOKEN, "Pixel 8")
        page.reload()
        expect(page.locator(".device")).to_have_count(2)
        expect(page.locator(".device").filter(has_text="Pixel 8")).to_contain_text("Android app")
        page.screenshot(path=ARTIFACTS / "devices-desktop.png", animations="disabled")
        page.get_by_role("button", name="Remove Chrome on Linux").click()
        expect(page.get_by_text("Device removed.")).to_be_visible()
        expect(page.locator(".device")).to_have_count(1)
        assert page.evaluate("localStorage.getItem('test.subscribed')") == "0"
        assert [d.label for d in store.devices.list("alice")] == ["Pixel 8"]
        expect(page.get_by_role("button", name="Enable browser notifications")).to_be_visible()
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize(("name", "width", "scheme"), [
    ("phone-light", 390, "light"), ("phone-dark", 390, "dark"), ("desktop-dark", 1100, "dark")])
def test_devices_panel_looks_right(browser, push_server, store, name, width, scheme):
    store.accounts.create("alice", "correct horse battery")
    store.devices.add_mobile("alice", "apns", "ab" * 32, "Dana's iPhone <15>")
    store.devices.add_web("alice", "https://fcm.googleapis.com/fcm/send/x", {
        "p256dh": "B" + "A" * 86, "auth": "A" * 22}, "Firefox on Windows")
    context = browser.new_context(viewport={"width": width, "height": 760}, color_scheme=scheme)
    page = context.new_page()
    try:
        sign_in(page, push_server.url)
        page.goto(f"{push_server.url}/settings/devices")
        expect(page.locator(".device")).to_have_count(2)
        expect(page.get_by_text("Dana's iPhone <15>")).to_be_visible()
        # Without a granted permission the button is offered (the browser would ask).
        expect(page.get_by_role("button", name="Enable browser notifications")).to_be_visible()
        box = page.locator(".devices").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        page.screenshot(path=ARTIFACTS / f"devices-{name}.png", full_page=True,
                        animations="disabled")
    finally:
        context.close()
