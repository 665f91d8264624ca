"""Threads on the inbox page in Chromium: the items of a thread on the page are one row
(count, unread count, a toggle), reading the row reads the whole thread in every tab, and a
live item of the thread moves its row to the top."""

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, api_send, browser_sign_in

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def rows(page):
    return page.locator("ol.notes > li.note")


def test_a_thread_is_one_row_read_as_one_and_bumped_live(
    browser, live_server, http, store, api_key
):
    store.accounts.create("tia", PASSWORD)
    auth = {"Authorization": f"Bearer {api_key}"}
    first = api_send(http, api_key, "tia", "Comment 1 on PR #4411", thread="pr-4411")
    api_send(http, api_key, "tia", "Build passed")
    api_send(http, api_key, "tia", "Comment 2 on PR #4411", thread="pr-4411")
    api_send(http, api_key, "tia", "Comment 3 on PR #4411", thread="pr-4411")
    http.post("/api/v1/users/tia/notifications/read", headers=auth, json={"ids": [first]})
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page, other_tab = context.new_page(), context.new_page()
    try:
        browser_sign_in(page, live_server.url, "tia", PASSWORD)
        other_tab.goto(f"{live_server.url}/inbox")
        for tab in (page, other_tab):
            expect(tab.locator("[data-live-status]")).to_have_attribute("data-state", "live")
            expect(rows(tab).locator(":scope > .note-main h2")).to_have_text(
                ["Comment 3 on PR #4411", "Build passed"]
            )
        row = rows(page).first
        expect(row.locator("[data-thread-count]")).to_have_text("3 in thread · 2 unread")
        expect(page.locator("[data-unread-badge]")).to_have_text("3")
        earlier = row.locator(".thread-items")
        expect(earlier).to_be_hidden()

        expect(page.get_by_role("button", name="Show 2 earlier")).to_have_attribute(
            "aria-expanded", "false"
        )
        toggle = row.locator("[data-thread-toggle]")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(toggle).to_have_text("Hide 2 earlier")
        expect(earlier.locator("li.note h2")).to_have_text(
            ["Comment 2 on PR #4411", "Comment 1 on PR #4411"]
        )
        expect(earlier).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "threads-inbox-desktop.png"), full_page=True)

        # Reading the row reads the whole thread, here and in the other tab.
        page.get_by_role("button", name="Mark the thread of “Comment 3 on PR #4411” read").click()
        for tab in (page, other_tab):
            expect(tab.locator("[data-unread-badge]")).to_have_text("1")
            expect(rows(tab).first.locator("[data-thread-count]")).to_have_text("3 in thread")
            expect(tab.locator("li.note.is-unread h2")).to_have_text(["Build passed"])
        expect(row.locator("[data-thread-read]")).to_have_count(0)
        listed = http.get("/api/v1/users/tia/notifications", headers=auth).json()
        assert {n["title"]: n["read"] for n in listed["notifications"]} == {
            "Comment 3 on PR #4411": True,
            "Build passed": False,
            "Comment 2 on PR #4411": True,
            "Comment 1 on PR #4411": True,
        }

        # Live: an unthreaded item is a row of its own; the thread's next comment moves
        # the thread's row to the top (open as it was), the comment at its head.
        api_send(http, api_key, "tia", "Weekly digest")
        expect(rows(page)).to_have_count(3)
        api_send(http, api_key, "tia", "Comment 4 on PR #4411", thread="pr-4411")
        for tab in (page, other_tab):
            expect(rows(tab).locator(":scope > .note-main h2")).to_have_text(
                ["Comment 4 on PR #4411", "Weekly digest", "Build passed"]
            )
            expect(rows(tab).first.locator("[data-thread-count]")).to_have_text(
                "4 in thread · 1 unread"
            )
            expect(tab.locator("[data-unread-badge]")).to_have_text("3")
        expect(page.get_by_role("button", name="Hide 3 earlier")).to_have_attribute(
            "aria-expanded", "true"
        )
        expect(rows(page).first.locator(".thread-items li.note h2")).to_have_text(
            ["Comment 3 on PR #4411", "Comment 2 on PR #4411", "Comment 1 on PR #4411"]
        )
        closed = other_tab.get_by_role("button", name="Show 3 earlier")
        expect(closed).to_have_attribute("aria-expanded", "false")

        # Deleting the row's head makes the next comment the head, in that one's place.
        rows(page).first.get_by_role("button", name="Delete “Comment 4 on PR #4411”").click()
        for tab in (page, other_tab):
            expect(rows(tab).locator(":scope > .note-main h2")).to_have_text(
                ["Weekly digest", "Comment 3 on PR #4411", "Build passed"]
            )
            expect(rows(tab).nth(1).locator("[data-thread-count]")).to_have_text("3 in thread")
        page.reload()
        expect(rows(page).locator(":scope > .note-main h2")).to_have_text(
            ["Weekly digest", "Comment 3 on PR #4411", "Build passed"]
        )
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "width", "scheme"),
    [("desktop", 1280, "light"), ("phone", 390, "light"), ("compact-dark", 1280, "dark")],
)
def test_screenshots_of_a_thread(browser, live_server, http, store, api_key, name, width, scheme):
    store.accounts.create("tom", PASSWORD)
    send = lambda title, **fields: api_send(http, api_key, "tom", title, **fields)  # noqa: E731
    send("Weekly digest", type="digest", priority="low", body="3 new comments, 2 likes.")
    send(
        "Dana commented on PR #4411",
        type="comment",
        thread="pr-4411",
        body="The retry loop needs a cap.",
        link="https://example.com/pr/4411",
    )
    send(
        "Deploy to production failed",
        type="ci",
        priority="urgent",
        body="main is red: the migration step timed out.",
    )
    for who, said in (("Lee", "Agreed, 5 tries?"), ("Sam", "Pushed a fix: capped at 5.")):
        send(
            f"{who} commented on PR #4411",
            type="comment",
            thread="pr-4411",
            body=said,
            link="https://example.com/pr/4411",
        )
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, "tom", PASSWORD)
        expect(rows(page)).to_have_count(3)
        if name.startswith("compact"):
            page.get_by_role("button", name="Compact").click()
        page.get_by_role("button", name="Show 2 earlier").click()
        expect(page.locator(".thread-items")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"threads-inbox-{name}.png"), full_page=True)
    finally:
        context.close()


def test_without_scripts_a_threads_items_show_under_its_row(
    browser, live_server, http, store, api_key
):
    store.accounts.create("una", PASSWORD)
    for number in (1, 2):
        api_send(http, api_key, "una", f"Comment {number}", thread="pr-1")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Username").fill("una")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/inbox")
        expect(rows(page)).to_have_count(1)
        expect(page.locator(".thread-items li.note h2")).to_have_text(["Comment 1"])
        expect(page.locator(".thread-items")).to_be_visible()
        expect(page.locator("[data-thread-toggle]")).to_be_hidden()
        page.get_by_role("button", name="Mark the thread of “Comment 2” read").click()
        page.wait_for_url(f"{live_server.url}/inbox")
        expect(rows(page).locator("[data-thread-count]")).to_have_text("2 in thread")
    finally:
        context.close()
