"""The pages in a real headless Chromium (Debian's, driven by Playwright)."""

import pytest

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def sign_in(page, base_url, username, password):
    page.goto(f"{base_url}/inbox")
    assert page.url.startswith(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/inbox")


def test_sign_in_read_and_act_on_notifications(page, live_server, http, store, api_key):
    store.accounts.create("alice", "correct horse battery")
    auth = {"Authorization": f"Bearer {api_key}"}
    sign_in(page, live_server.url, "alice", "correct horse battery")
    assert page.get_by_text("Nothing here yet").is_visible()

    for title, priority in [("Build #481 passed", "low"), ("Dana mentioned you", "normal"),
                            ("<script>window.pwned = 1</script>", "high"),
                            ("Password changed on a new device", "urgent")]:
        http.post("/api/v1/notifications", headers=auth, json={
            "user_id": "alice", "title": title, "priority": priority, "type": "security"
            if priority == "urgent" else "activity", "body": "Details for: " + title,
            "link": "https://example.com/n"})
    page.reload()
    notes = page.locator("li.note")
    assert notes.count() == 4
    assert page.locator("[data-unread-badge]").inner_text() == "4"
    assert page.title().startswith("(4) Inbox")
    assert page.get_by_text("<script>window.pwned = 1</script>", exact=True).is_visible()
    assert page.evaluate("window.pwned") is None
    page.set_viewport_size({"width": 1200, "height": 820})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "inbox-desktop.png", full_page=True)

    page.get_by_role("button", name="Mark “Dana mentioned you” read").click()
    page.wait_for_load_state()
    assert page.locator("[data-unread-badge]").inner_text() == "3"
    page.get_by_role("button", name="Delete “Build #481 passed”").click()
    page.wait_for_load_state()
    assert page.locator("li.note").count() == 3
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state()
    assert not page.locator("[data-unread-badge]").is_visible()
    assert store.inbox.unread_count("alice") == 0


def test_phone_width_and_dark_mode(browser, live_server, http, store, api_key):
    store.accounts.create("bob", "correct horse battery")
    http.post("/api/v1/notifications", headers={"Authorization": f"Bearer {api_key}"}, json={
        "user_id": "bob", "title": "Your export is ready", "priority": "high",
        "body": "The CSV with 12,408 rows can be downloaded for 24 hours."})
    context = browser.new_context(viewport={"width": 390, "height": 760}, color_scheme="dark",
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.screenshot(path=ARTIFACTS / "login-phone-dark.png")
        sign_in(page, live_server.url, "bob", "correct horse battery")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the inbox scrolls sideways on a phone"
        page.screenshot(path=ARTIFACTS / "inbox-phone-dark.png", full_page=True)
    finally:
        context.close()


def test_wrong_password_is_announced(page, live_server, store):
    store.accounts.create("carol", "correct horse battery")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
