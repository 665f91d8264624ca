"""Threads in the widget, in Chromium on a host site of another origin: one row per thread
with its counts and a toggle, read as one, and a live item of the thread heading its row."""

import pytest
from playwright.sync_api import expect
from test_widget_browser import api, notifier_url, open_host_page, site, widget  # noqa: F401

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_the_widget_shows_a_thread_as_one_row_and_reads_it_as_one(browser, site, api):  # noqa: F811
    first = api.send("ada", "Comment 1 on PR #4411", thread="pr-4411")
    api.send("ada", "Comment 2 on PR #4411", thread="pr-4411")
    api.send("ada", "Build passed")
    api.send("ada", "Comment 3 on PR #4411", thread="pr-4411")
    api.post("/api/v1/users/ada/notifications/read", {"ids": [first]})
    context, page = open_host_page(browser, site, user="ada")
    try:
        page.get_by_role("button", name="Notifications, 3 unread").click()
        dialog = page.get_by_role("dialog", name="Notifications")
        rows = dialog.locator("ol.list > li.item")
        expect(rows.locator(":scope > .content h3")).to_have_text(
            ["Comment 3 on PR #4411", "Build passed"]
        )
        head = rows.first
        expect(head.locator("[data-thread-count]")).to_have_text("3 in thread · 2 unread")
        earlier = head.locator(".thread-items")
        expect(earlier).to_be_hidden()
        expect(dialog.get_by_role("button", name="Show 2 earlier")).to_have_attribute(
            "aria-expanded", "false"
        )
        toggle = head.locator("[data-thread-toggle]")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(earlier.locator("li.item h3")).to_have_text(
            ["Comment 2 on PR #4411", "Comment 1 on PR #4411"]
        )
        page.screenshot(path=str(ARTIFACTS / "threads-widget.png"))

        dialog.get_by_role("button", name="Mark the thread of “Comment 3 on PR #4411” read").click()
        expect(widget(page)).to_have_attribute("data-unread", "1")
        expect(head.locator("[data-thread-count]")).to_have_text("3 in thread")
        expect(dialog.locator("li.item.is-unread h3")).to_have_text(["Build passed"])
        expect(head.locator("[data-thread-read]")).to_have_count(0)

        # A live comment heads the row, which stays open, and counts as unread.
        api.send("ada", "Comment 4 on PR #4411", thread="pr-4411")
        expect(widget(page)).to_have_attribute("data-unread", "2")
        expect(rows.locator(":scope > .content h3")).to_have_text(
            ["Comment 4 on PR #4411", "Build passed"]
        )
        expect(rows.first.locator("[data-thread-count]")).to_have_text("4 in thread · 1 unread")
        expect(rows.first.locator(".thread-items li.item h3")).to_have_text(
            ["Comment 3 on PR #4411", "Comment 2 on PR #4411", "Comment 1 on PR #4411"]
        )
        expect(dialog.get_by_role("button", name="Hide 3 earlier")).to_be_visible()

        # Dismissing the head: the next comment heads the row, still the newest.
        dialog.get_by_role("button", name="Dismiss “Comment 4 on PR #4411”").click()
        expect(rows.first.locator("[data-thread-count]")).to_have_text("3 in thread")
        expect(rows.locator(":scope > .content h3")).to_have_text(
            ["Comment 3 on PR #4411", "Build passed"]
        )
    finally:
        context.close()
