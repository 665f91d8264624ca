"""The settings page and quiet hours in a real headless Chromium (Debian's, via Playwright)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from notifier.model.preferences import Preferences
from notifier.model.requests import SendRequest

from conftest import ARTIFACTS, LiveServer, api_send, browser_sign_in, live_env

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"

#: Settings that turn every delivery channel on (nothing is delivered: no worker runs).
EVERY_CHANNEL = {"NOTIFIER_WEBPUSH_SUBJECT": "mailto:ops@example.com",
                 "NOTIFIER_SMTP_HOST": "127.0.0.1", "NOTIFIER_SMTP_FROM": "ops@example.com",
                 "NOTIFIER_FCM_CREDENTIALS": "/nonexistent/fcm.json",
                 "NOTIFIER_SMS_ACCOUNT_SID": "AC1", "NOTIFIER_SMS_AUTH_TOKEN": "secret",
                 "NOTIFIER_SMS_FROM": "+15005550006"}


@pytest.fixture(scope="module")
def live_server(redis_server, tmp_path_factory):
    """The server of this module's tests: one that offers every channel."""
    server = LiveServer({**live_env(redis_server.url, tmp_path_factory.mktemp("channels")),
                         **EVERY_CHANNEL}, workers=2)
    yield server
    server.stop()




def test_settings_are_kept_and_a_bad_phone_is_shown_beside_its_field(browser, live_server,
                                                                       store):
    store.accounts.create("carol", PASSWORD)
    for kind in ("ci", "security", "mention"):
        store.inbox.send([SendRequest(user_id="x", title="t", type=kind)], [("x", 0)])
    context = browser.new_context(viewport={"width": 1200, "height": 900},
                                  timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, live_server.url, "carol", PASSWORD)
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url(f"{live_server.url}/settings")
        zone = page.get_by_label("Time zone")
        expect(zone).to_have_value("America/New_York")  # the browser's, until saved
        expect(page.get_by_label("SMS for security")).not_to_be_checked()
        expect(page.get_by_label("Email for ci")).to_be_checked()
        page.screenshot(path=ARTIFACTS / "settings-desktop.png", full_page=True)

        page.get_by_label("Email for ci").uncheck()
        page.get_by_label("SMS for security").check()
        page.get_by_label("Browser push for all kinds").uncheck()  # the others follow
        expect(page.get_by_label("Browser push for mention")).not_to_be_checked()
        zone.select_option("Europe/Berlin")
        page.get_by_label("From").fill("22:00")
        page.get_by_label("To").fill("07:00")
        page.get_by_label("Email address").fill("carol@example.com")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()

        page.reload()
        expect(page.get_by_label("Email for ci")).not_to_be_checked()
        expect(page.get_by_label("Email for security")).to_be_checked()
        expect(page.get_by_label("SMS for security")).to_be_checked()
        expect(page.get_by_label("SMS for mention")).not_to_be_checked()
        expect(page.get_by_label("Browser push for mention")).not_to_be_checked()
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
        expect(page.get_by_label("From")).to_have_value("22:00")
        expect(page.get_by_label("To")).to_have_value("07:00")
        expect(page.get_by_label("Email address")).to_have_value("carol@example.com")
        prefs = store.preferences.load("carol")
        assert prefs.timezone == "Europe/Berlin" and not prefs.enabled("ci", "email")
        assert prefs.enabled("security", "sms") and not prefs.enabled("mention", "web_push")

        phone = page.get_by_label("Mobile number for SMS")
        phone.fill("0151 2345")
        page.get_by_role("button", name="Save settings").click()
        error = page.locator("#phone-error")
        expect(error).to_contain_text("E.164")
        expect(phone).to_have_attribute("aria-describedby", "phone-error")
        expect(phone).to_have_attribute("aria-invalid", "true")
        expect(phone).to_have_value("0151 2345")
        assert store.preferences.load("carol").phone is None
        page.screenshot(path=ARTIFACTS / "settings-error-desktop.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_settings_on_a_phone(browser, live_server, store, scheme):
    store.accounts.create("dave", PASSWORD)
    store.preferences.save("dave", Preferences(timezone="Asia/Tokyo"))
    for kind in ("ci", "security"):
        store.inbox.send([SendRequest(user_id="x", title="t", type=kind)], [("x", 0)])
    context = browser.new_context(viewport={"width": 390, "height": 800}, color_scheme=scheme,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, "dave", PASSWORD)
        page.goto(f"{live_server.url}/settings")
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")  # saved: kept
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=ARTIFACTS / f"settings-phone-{scheme}.png", full_page=True)
    finally:
        context.close()


def quiet_around_now(zone: str) -> Preferences:
    now = datetime.now(ZoneInfo(zone))
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    return Preferences(timezone=zone, quiet_start=start.replace(second=0, microsecond=0),
                       quiet_end=end.replace(second=0, microsecond=0),
                       switches={("ci", "in_app"): False})


def test_quiet_hours_keep_the_inbox_current_without_toasts(page, live_server, http, store,
                                                           api_key):
    store.accounts.create("erin", PASSWORD)
    store.preferences.save("erin", quiet_around_now("Pacific/Auckland"))
    browser_sign_in(page, live_server.url, "erin", PASSWORD)

    api_send(http, api_key, "erin", "Deploy finished", priority="high")
    expect(page.locator("li.note")).to_have_count(1)
    expect(page.locator("[data-unread-badge]")).to_have_text("1")
    expect(page.locator(".toast")).to_have_count(0)  # quiet: no toast for a high one

    api_send(http, api_key, "erin", "Nightly build", priority="high", type="ci")  # in-app off
    expect(page.locator("[data-unread-badge]")).to_have_text("2")  # still counted
    api_send(http, api_key, "erin", "Database down", priority="urgent")
    expect(page.locator(".toast-urgent")).to_contain_text("Database down")  # urgent: through
    expect(page.locator("li.note")).to_have_count(2)
    expect(page.locator("[data-unread-badge]")).to_have_text("3")
    assert page.get_by_text("Nightly build").count() == 0  # not inserted live
    expect(page.locator(".toast")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "inbox-quiet-hours.png", animations="disabled")
    page.reload()  # the inbox keeps it all
    expect(page.locator("li.note")).to_have_count(3)
