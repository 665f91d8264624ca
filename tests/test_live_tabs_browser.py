"""Live on every signed-in page, and one /events stream per browser shared by its tabs,
in a real headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, api_send, browser_sign_in

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"




def stream_requests(context) -> list[str]:
    """The URLs of every /events request the context's pages make, as they are made."""
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url)
               if "/events" in request.url else None)
    return seen


@pytest.mark.parametrize(("path", "title"), [
    ("/settings", "Settings"),
    ("/account/password", "Account"),
    ("/admin", "Overview · Admin"),
])
def test_every_signed_in_page_shows_the_badge_and_toasts_live(browser, live_server, http, store,
                                                              api_key, path, title):
    user = f"live{abs(hash(path)) % 10_000}"
    store.accounts.create(user, PASSWORD, admin=True)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        browser_sign_in(page, live_server.url, user, PASSWORD)
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        expect(page.locator("[data-unread-badge]")).to_be_hidden()
        api_send(http, api_key, user, "Deploy failed", priority="urgent", body="api-7 is down")
        expect(page.locator("[data-unread-badge]")).to_have_text("1")
        expect(page.locator("[data-unread-badge]")).to_have_attribute("aria-label", "1 unread")
        expect(page).to_have_title(f"(1) {title} · Notifier")
        expect(page.locator(".toast-urgent")).to_contain_text("Deploy failed")
        expect(page.locator(".toast-urgent")).to_contain_text("api-7 is down")
        api_send(http, api_key, user, "Weekly digest", priority="low")  # counted, no toast
        expect(page.locator("[data-unread-badge]")).to_have_text("2")
        expect(page.locator(".toast")).to_have_count(1)
    finally:
        context.close()


def test_tabs_share_one_stream_and_hand_it_over_without_missing_anything(
        browser, live_server, http, store, api_key):
    store.accounts.create("tabs", PASSWORD)
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    streams = stream_requests(context)
    try:
        holder = context.new_page()
        browser_sign_in(holder, live_server.url, "tabs", PASSWORD)
        settings, inbox = context.new_page(), context.new_page()
        settings.goto(f"{live_server.url}/settings")
        inbox.goto(f"{live_server.url}/inbox")
        tabs = (holder, settings, inbox)
        for tab in tabs:
            expect(tab.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        assert len(streams) == 1, streams

        api_send(http, api_key, "tabs", "First", priority="high")
        for tab in tabs:
            expect(tab.locator("[data-unread-badge]")).to_have_text("1")
            expect(tab.locator(".toast-high")).to_contain_text("First")
        for tab in (holder, inbox):
            expect(tab.locator("li.note")).to_have_count(1)
        read = inbox.get_by_role("button", name="Mark “First” read")
        read.click()
        for tab in tabs:
            expect(tab.locator("[data-unread-badge]")).to_be_hidden()
        expect(holder.locator("li.note.is-unread")).to_have_count(0)
        assert len(streams) == 1, streams

        # The holder goes; whatever is sent before the next tab's stream connects must
        # still reach every tab: the new stream resumes where the old one was.
        context.route("**/events*", lambda route: (
            api_send(http, api_key, "tabs", "Sent during the hand-over"), route.continue_()))
        holder.close()
        for tab in (settings, inbox):
            expect(tab.locator("[data-unread-badge]")).to_have_text("1")
            expect(tab).to_have_title(re.compile(r"^\(1\) "))
        expect(inbox.locator("li.note")).to_have_count(2)
        expect(inbox.locator("li.note").first).to_contain_text("Sent during the hand-over")
        assert len(streams) == 2, streams
        assert "last_event_id=" in streams[1]
        context.unroute("**/events*")

        api_send(http, api_key, "tabs", "After the hand-over")
        for tab in (settings, inbox):
            expect(tab.locator("[data-unread-badge]")).to_have_text("2")
        expect(inbox.locator("li.note")).to_have_count(3)
        inbox.screenshot(path=ARTIFACTS / "tabs-after-hand-over.png", animations="disabled")
        assert len(streams) == 2, streams
    finally:
        context.close()


def test_a_tab_opened_later_catches_up_from_the_holder(browser, live_server, http, store,
                                                       api_key):
    store.accounts.create("later", PASSWORD)
    context = browser.new_context()
    context.set_default_timeout(10_000)
    streams = stream_requests(context)
    try:
        holder = context.new_page()
        browser_sign_in(holder, live_server.url, "later", PASSWORD)
        holder.goto(f"{live_server.url}/settings")
        expect(holder.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        inbox = context.new_page()
        # Something arrives between the inbox's render and its script hearing the holder.
        inbox.route("**/live-stream.js*", lambda route: (
            api_send(http, api_key, "later", "Sent while the tab loads"), route.continue_()))
        inbox.goto(f"{live_server.url}/inbox")
        expect(inbox.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        expect(inbox.get_by_text("Sent while the tab loads")).to_be_visible()
        expect(inbox.locator("[data-unread-badge]")).to_have_text("1")
        expect(holder.locator("[data-unread-badge]")).to_have_text("1")
        assert len(streams) == 2, streams  # the holder's, then the settings page's
    finally:
        context.close()
