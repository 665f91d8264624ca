"""The inbox's tools as a person uses them in Chromium: search and filters, bulk
selection by mouse and keyboard, and the compact density a browser remembers."""

import pytest
from playwright.sync_api import expect

from conftest import api_send, browser_sign_in

pytestmark = pytest.mark.browser


def test_search_and_filters_narrow_the_list_and_live_arrivals(browser, live_server, http,
                                                                store, api_key):
    store.accounts.create("fay", "correct horse battery")
    # A type no other test sends: a server records a type once a minute per process, so one
    # another test sent just before the Redis was emptied would be missing from the filter.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        api_send(http, api_key, "fay", "Deploy failed", type="deploys", body="main is red")
        api_send(http, api_key, "fay", "PR merged", type="review", body="into main")
        api_send(http, api_key, "fay", "Weekly digest", type="digest", priority="low")
        browser_sign_in(page, live_server.url, "fay", "correct horse battery")
        expect(page.locator("li.note")).to_have_count(3)
        page.get_by_label("Search titles and text").fill("MAIN")
        page.get_by_label("Search titles and text").press("Enter")
        expect(page.locator("li.note h2")).to_have_text(["PR merged", "Deploy failed"])
        page.get_by_label("Type").select_option("deploys")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("li.note h2")).to_have_text(["Deploy failed"])
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        api_send(http, api_key, "fay", "Deploy failed again", type="deploys", body="main still red")
        api_send(http, api_key, "fay", "Other ci run", type="deploys", body="a branch")
        api_send(http, api_key, "fay", "Review on main", type="review", body="main")
        expect(page.locator("li.note h2")).to_have_text(["Deploy failed again", "Deploy failed"])
        expect(page.locator("[data-unread-badge]")).to_have_text("6")
        page.get_by_role("link", name="Read", exact=True).click()
        assert "type=deploys" in page.url and "q=MAIN" in page.url
        expect(page.get_by_text("No notifications match")).to_be_visible()
        page.get_by_role("link", name="Clear").click()
        expect(page.get_by_text("No read notifications")).to_be_visible()
        page.get_by_role("link", name="All", exact=True).click()
        expect(page.locator("li.note")).to_have_count(6)
    finally:
        context.close()


def test_bulk_select_marks_read_and_deletes_in_every_tab(browser, live_server, http, store,
                                                          api_key):
    store.accounts.create("gus", "correct horse battery")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    first, second = context.new_page(), context.new_page()
    try:
        for i in range(5):
            api_send(http, api_key, "gus", f"Item {i}")
        browser_sign_in(first, live_server.url, "gus", "correct horse battery")
        second.goto(f"{live_server.url}/inbox")
        expect(second.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        bulk_read = first.locator("[data-bulk]").get_by_role("button", name="Mark read")
        expect(bulk_read).to_be_hidden()
        first.get_by_label("Select “Item 4”").check()
        first.get_by_label("Select “Item 2”").check()
        expect(first.locator("[data-selected-count]")).to_have_text("2 selected")
        bulk_read.click()
        for page in (first, second):
            expect(page.locator("li.note.is-unread")).to_have_count(3)
            expect(page.locator("[data-unread-badge]")).to_have_text("3")
        expect(first.locator("input.note-select:checked")).to_have_count(0)
        # Keyboard only: tab to "Select all", space, then on to Delete and enter.
        first.get_by_label("Select all").focus()
        first.keyboard.press("Space")
        expect(first.locator("[data-selected-count]")).to_have_text("5 selected")
        first.get_by_label("Select “Item 0”").focus()
        first.keyboard.press("Space")
        expect(first.get_by_label("Select all")).to_have_js_property("indeterminate", True)
        first.locator("[data-bulk]").get_by_role("button", name="Delete").focus()
        first.keyboard.press("Enter")
        for page in (first, second):
            expect(page.locator("li.note h2")).to_have_text(["Item 0"])
        assert [n.title for n in store.inbox.page("gus", limit=10)[0]] == ["Item 0"]
    finally:
        context.close()


def test_compact_density_fits_twelve_items_and_is_remembered(browser, live_server, http,
                                                             store, api_key):
    store.accounts.create("hal", "correct horse battery")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        for i in range(20):
            api_send(http, api_key, "hal", f"Notification number {i}",
                     body="A body that takes a second line in the comfortable layout.")
        browser_sign_in(page, live_server.url, "hal", "correct horse battery")
        in_view = ("[...document.querySelectorAll('li.note')]"
                   ".filter(li => li.getBoundingClientRect().bottom <= innerHeight).length")
        assert page.evaluate(in_view) < 12
        density = page.get_by_role("button", name="Compact")
        expect(density).to_have_attribute("aria-pressed", "false")
        density.focus()
        page.keyboard.press("Enter")
        expect(density).to_have_attribute("aria-pressed", "true")
        assert page.evaluate(in_view) >= 12
        page.reload()
        expect(page.get_by_role("button", name="Compact")).to_have_attribute("aria-pressed",
                                                                             "true")
        assert page.evaluate(in_view) >= 12
        other = context.new_page()
        other.goto(f"{live_server.url}/inbox")
        expect(other.locator("body")).to_have_class("density-compact")
        other.get_by_role("button", name="Compact").click()
        other.reload()
        expect(other.locator("body")).not_to_have_class("density-compact")
    finally:
        context.close()
