"""Archive and restore on the inbox page in Chromium: per item, for a selection, the
Archived view with Restore, and every open tab following along."""

import pytest
from playwright.sync_api import expect

from conftest import api_send, browser_sign_in

pytestmark = pytest.mark.browser


def test_archive_and_restore_follow_in_every_tab(browser, live_server, http, store, api_key):
    store.accounts.create("ivy", "correct horse battery")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    inbox, archived = context.new_page(), context.new_page()
    try:
        for i in range(4):
            api_send(http, api_key, "ivy", f"Item {i}")
        browser_sign_in(inbox, live_server.url, "ivy", "correct horse battery")
        archived.goto(f"{live_server.url}/inbox")
        archived.get_by_role("link", name="Archived").click()
        expect(archived.get_by_role("heading", name="Nothing archived")).to_be_visible()
        for page in (inbox, archived):
            expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")

        inbox.get_by_role("button", name="Archive “Item 3”").click()
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2", "Item 1", "Item 0"])
        expect(archived.locator("li.note h2")).to_have_text(["Item 3"])
        expect(inbox.locator("[data-unread-badge]")).to_have_text("3")

        inbox.get_by_label("Select “Item 1”").check()
        inbox.get_by_label("Select “Item 0”").check()
        inbox.locator("[data-bulk]").get_by_role("button", name="Archive").click()
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2"])
        expect(archived.locator("li.note h2")).to_have_text(["Item 3", "Item 1", "Item 0"])
        expect(archived.locator("li.note.is-unread")).to_have_count(0)
        expect(archived.locator("[data-unread-badge]")).to_have_text("1")

        archived.get_by_role("button", name="Restore “Item 1” to the inbox").click()
        expect(archived.locator("li.note h2")).to_have_text(["Item 3", "Item 0"])
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2", "Item 1"])
        archived.get_by_label("Select all").check()
        archived.locator("[data-bulk]").get_by_role("button", name="Restore").click()
        expect(archived.get_by_role("heading", name="Nothing archived")).to_be_visible()
        expect(inbox.locator("li.note h2")).to_have_text(["Item 3", "Item 2", "Item 1",
                                                          "Item 0"])
        assert store.inbox.page("ivy", limit=10, archived=True)[0] == []

        # A live arrival joins the inbox, never the Archived view.
        archived.reload()
        expect(archived.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        api_send(http, api_key, "ivy", "Item 4")
        expect(inbox.locator("li.note").first).to_contain_text("Item 4")
        expect(archived.locator("[data-unread-badge]")).to_have_text("2")
        expect(archived.locator("li.note")).to_have_count(0)
    finally:
        context.close()
