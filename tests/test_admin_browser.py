"""The admin console in a real headless Chromium: screenshots, copy button, CSP, phones."""

import re

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def sign_in_to(page, base_url, path, username):
    page.goto(f"{base_url}{path}")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{path}")


def people(store):
    store.accounts.create("root", PASSWORD, admin=True)
    for name in ("alice", "bob.smith", "carol@example.com", "dave", "erin-ops"):
        store.accounts.create(name, PASSWORD)
    store.accounts.set_admin("carol@example.com", True)
    store.accounts.set_disabled("dave", True)


def watch_csp(page):
    """Collect console errors (a CSP violation is one)."""
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    return errors


def test_desktop_light_users_and_api_keys(browser, live_server, store):
    people(store)
    store.api_keys.create("billing-service", created_by="root")
    store.api_keys.create("<script>window.pwned = 1</script>")
    old, _ = store.api_keys.create("legacy-cron")
    store.api_keys.revoke(old.key_id)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = watch_csp(page)
    try:
        sign_in_to(page, live_server.url, "/admin/users", "root")
        expect(page.get_by_role("navigation", name="Admin sections")
               .get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
        expect(page.get_by_role("link", name="Admin")).to_have_attribute("aria-current", "true")
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(6)
        expect(rows.first.locator("th")).to_contain_text("erin-ops")
        page.screenshot(path=ARTIFACTS / "admin-users-desktop-light.png", full_page=True)

        page.get_by_label("Search by username").fill("B")
        page.get_by_role("button", name="Search").click()
        expect(rows).to_have_count(1)
        page.get_by_role("button", name="Make admin bob.smith").click()
        expect(page.get_by_role("status")).to_have_text("bob.smith is now an admin.")
        expect(page.get_by_label("Search by username")).to_have_value("B")  # back where it was
        assert store.accounts.get("bob.smith").is_admin
        page.screenshot(path=ARTIFACTS / "admin-users-search-desktop-light.png")

        page.get_by_role("link", name="API keys").click()
        expect(page.locator("h1")).to_have_text("API keys")
        hostile = page.get_by_role("rowheader", name="<script>window.pwned = 1</script>")
        expect(hostile).to_be_visible()
        page.get_by_label("Name").fill("deploy-bot")
        page.get_by_role("button", name="Create key").click()
        key = page.get_by_label("API key", exact=True)
        secret = key.input_value()
        assert re.fullmatch(r"nk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", secret)
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("status")).to_have_text("Copied to the clipboard.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        page.screenshot(path=ARTIFACTS / "admin-key-created-desktop-light.png", full_page=True)

        page.get_by_role("link", name="Done: back to API keys").click()
        expect(page.locator("table tbody tr")).to_have_count(4)
        assert secret not in page.content()
        page.screenshot(path=ARTIFACTS / "admin-api-keys-desktop-light.png", full_page=True)
        page.get_by_role("link", name="Revoke deploy-bot").click()
        page.screenshot(path=ARTIFACTS / "admin-revoke-desktop-light.png")
        page.get_by_role("button", name="Revoke key").click()
        expect(page.get_by_role("status")).to_contain_text("Revoked “deploy-bot”")
        assert store.api_keys.verify(secret) is None

        page.get_by_role("link", name="Overview").click()
        expect(page.locator("h1")).to_have_text("Overview")
        page.screenshot(path=ARTIFACTS / "admin-overview-desktop-light.png")
        assert page.evaluate("window.pwned") is None
        assert errors == []
    finally:
        context.close()


def test_phone_dark(browser, live_server, store):
    people(store)
    store.api_keys.create("billing-service", created_by="root")
    context = browser.new_context(viewport={"width": 390, "height": 760}, color_scheme="dark",
                                  device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = watch_csp(page)
    try:
        sign_in_to(page, live_server.url, "/admin/users", "root")
        for path, name in [("/admin/users", "users"), ("/admin/api-keys", "api-keys"),
                           ("/admin", "overview")]:
            page.goto(f"{live_server.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone"
            page.screenshot(path=ARTIFACTS / f"admin-{name}-phone-dark.png", full_page=True)
        page.goto(f"{live_server.url}/admin/api-keys")
        page.get_by_label("Name").fill("phone-made")
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_role("button", name="Copy")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "admin-key-created-phone-dark.png", full_page=True)
        assert errors == []
    finally:
        context.close()


def test_non_admins_see_the_403_page(page, live_server, store):
    store.accounts.create("mallory", PASSWORD)
    sign_in_to(page, live_server.url, "/inbox", "mallory")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{live_server.url}/admin/users")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Forbidden")
    expect(page.get_by_text("The admin console is for admins only.")).to_be_visible()
