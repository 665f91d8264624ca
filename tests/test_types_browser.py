"""Described types in a real headless Chromium: the settings page by label and category,
only the channels the server delivers to, locked switches; the inbox's chips.

Screenshots (desktop and phone, light and dark) go to SHOTS."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from notifier.model.requests import SendRequest
from notifier.model.types import TypeInfo

from conftest import ARTIFACTS, LiveServer, api_send, browser_sign_in, live_env

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path("/tmp/shots-types") if Path("/tmp").is_dir() else ARTIFACTS
VIEWS = [("desktop", 1200, "light"), ("desktop", 1200, "dark"), ("phone", 390, "light"),
         ("phone", 390, "dark")]


@pytest.fixture(scope="module")
def web_and_email(redis_server, tmp_path_factory):
    """A server that delivers to browsers and by email (no mobile push, no SMS)."""
    env = {**live_env(redis_server.url, tmp_path_factory.mktemp("types-live")),
           "NOTIFIER_WEBPUSH_SUBJECT": "mailto:ops@example.com",
           "NOTIFIER_SMTP_HOST": "127.0.0.1", "NOTIFIER_SMTP_FROM": "ops@example.com"}
    server = LiveServer(env, workers=1)
    yield server
    server.stop()


def describe(store) -> None:
    for info in (
        TypeInfo(type="security", label="Security alerts", category="Account",
                 description="Sign-ins from a new device, password changes.",
                 default_channels=("in_app", "email"), user_can_disable=False),
        TypeInfo(type="billing.invoice", label="Invoices", category="Account",
                 description="A new invoice or a failed payment.", default_channels=("email",)),
        TypeInfo(type="comment", label="Comments", category="Activity",
                 description="Replies to your posts."),
        TypeInfo(type="mention", label="Mentions", category="Activity"),
    ):
        store.types.put(info)
    store.inbox.send([SendRequest(user_id="x", title="t", type="ci")], [("x", 0)])


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True, animations="disabled")


def test_settings_show_labels_by_category_and_only_the_servers_channels(
        browser, web_and_email, store):
    store.accounts.create("carol", PASSWORD)
    describe(store)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, web_and_email.url, "carol", PASSWORD)
        page.goto(f"{web_and_email.url}/settings")
        headings = page.locator(".matrix thead th")
        expect(headings).to_have_text(["Kind", "In-app", "Browser push", "Email"])
        expect(page.locator(".matrix-group-head")).to_have_text(["Account", "Activity",
                                                                  "Other"])
        rows = page.locator(".matrix tbody tr[data-type] th .matrix-label")
        expect(rows).to_have_text(["Invoices", "Security alerts", "Comments", "Mentions", "ci"])
        expect(page.get_by_text("Sign-ins from a new device, password changes.")).to_be_visible()
        locked = page.get_by_label("Email for Security alerts (always on)")
        expect(locked).to_be_checked()
        expect(locked).to_be_disabled()
        expect(page.get_by_label("Email for Invoices")).to_be_checked()
        expect(page.get_by_label("In-app for Invoices")).not_to_be_checked()
        # The devices panel: browsers only, no word of a mobile app.
        devices = page.locator("#devices")
        expect(devices).to_be_visible()
        expect(devices).not_to_contain_text("mobile app")
        expect(devices).not_to_contain_text("phone")
        expect(page.get_by_label("Mobile number for SMS")).to_have_count(0)

        # The default row carries along the kinds that follow it, not those with defaults
        # of their own, nor locked switches.
        page.get_by_label("Email for all kinds").uncheck()
        expect(page.get_by_label("Email for ci")).not_to_be_checked()
        expect(page.get_by_label("Email for Comments")).not_to_be_checked()
        expect(page.get_by_label("Email for Invoices")).to_be_checked()
        expect(locked).to_be_checked()
        page.get_by_label("In-app for Invoices").check()
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
        prefs = store.preferences.load("carol")
        assert not prefs.enabled("comment", "email") and prefs.enabled("security", "email")
        assert prefs.enabled("billing.invoice", "email")
        assert prefs.enabled("billing.invoice", "in_app")
        assert ("billing.invoice", "email") not in prefs.switches  # still its default
        expect(page.get_by_label("In-app for Invoices")).to_be_checked()
    finally:
        context.close()


@pytest.mark.parametrize("name, width, scheme", VIEWS, ids=[f"{n}-{s}" for n, _, s in VIEWS])
def test_settings_look_right(browser, web_and_email, store, name, width, scheme):
    store.accounts.create("dave", PASSWORD)
    describe(store)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                  device_scale_factor=2 if name == "phone" else 1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, web_and_email.url, "dave", PASSWORD)
        page.goto(f"{web_and_email.url}/settings")
        expect(page.locator(".matrix-group-head").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"settings-{name}-{scheme}")
    finally:
        context.close()


def test_a_server_with_no_channels_offers_in_app_only_and_no_devices(browser, live_server,
                                                                      store):
    store.accounts.create("erin", PASSWORD)
    describe(store)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, live_server.url, "erin", PASSWORD)
        page.goto(f"{live_server.url}/settings")
        expect(page.locator(".matrix thead th")).to_have_text(["Kind", "In-app"])
        expect(page.get_by_text("This server delivers to your inbox only")).to_be_visible()
        expect(page.locator("#devices")).to_have_count(0)
        expect(page.get_by_text("mobile app")).to_have_count(0)
        expect(page.get_by_label("Email address")).to_have_count(0)
        shoot(page, "settings-inbox-only-desktop-light")
    finally:
        context.close()


def chips(item) -> list[str]:
    return item.locator(".note-meta .tag").all_inner_texts()


@pytest.mark.parametrize("name, width, scheme", VIEWS, ids=[f"{n}-{s}" for n, _, s in VIEWS])
def test_inbox_chips_show_labels(browser, live_server, http, store, api_key, name, width,
                                 scheme):
    store.accounts.create("fay", PASSWORD)
    describe(store)
    auth = {"Authorization": f"Bearer {api_key}"}
    untyped = api_send(http, api_key, "fay", "Your export is ready",
                       body="Download it within 7 days.")
    quiet = api_send(http, api_key, "fay", "Sam liked your post", type="comment",
                     priority="low")
    plain = api_send(http, api_key, "fay", "Build 1412 passed", type="ci",
                     body="All 312 tests green.")
    alert = api_send(http, api_key, "fay", "New sign-in from Firefox on Linux",
                     type="security", priority="high", body="Lisbon, Portugal.")
    made = http.post("/api/v1/broadcasts", headers=auth, content=json.dumps(
        {"title": "We have a new help centre", "body": "Answers to common questions."}))
    assert made.status_code == 201
    broadcast = made.json()["broadcast"]["id"]
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                  device_scale_factor=2 if name == "phone" else 1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, live_server.url, "fay", PASSWORD)

        def item(note_id):
            return page.locator(f'li.note[data-id="{note_id}"]')

        assert chips(item(untyped)) == []
        assert chips(item(quiet)) == ["Comments"]
        assert chips(item(plain)) == ["ci"]
        assert chips(item(alert)) == ["Security alerts", "High"]
        assert chips(item(broadcast)) == ["Announcement"]
        # Low priority is quieter than normal.
        color = "el => getComputedStyle(el.querySelector('.note-title')).color"
        assert item(quiet).evaluate(color) != item(plain).evaluate(color)
        # A live arrival is named by the page's script the same way.
        live = api_send(http, api_key, "fay", "Ana mentioned you in #design", type="mention")
        expect(item(live)).to_be_visible()
        assert chips(item(live)) == ["Mentions"]
        live_untyped = api_send(http, api_key, "fay", "Welcome aboard")
        expect(item(live_untyped)).to_be_visible()
        assert chips(item(live_untyped)) == []
        assert "general" not in page.locator(".notes").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"inbox-{name}-{scheme}")
    finally:
        context.close()
