"""Snooze on the inbox page in Chromium: the menu per item and for a selection, the
Snoozed view, bringing items back, and a snooze running out while the page is open."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, api_send, browser_sign_in

pytestmark = pytest.mark.browser


def test_snooze_from_the_menu_and_see_it_come_back(browser, live_server, http, store,
                                                   api_key):
    store.accounts.create("jay", "correct horse battery")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    inbox, snoozed = context.new_page(), context.new_page()
    try:
        ids = [api_send(http, api_key, "jay", f"Item {i}") for i in range(3)]
        browser_sign_in(inbox, live_server.url, "jay", "correct horse battery")
        snoozed.goto(f"{live_server.url}/inbox")
        snoozed.get_by_role("link", name="Snoozed").click()
        expect(snoozed.get_by_role("heading", name="Nothing snoozed")).to_be_visible()
        for page in (inbox, snoozed):
            expect(page.locator("[data-live-status]")).to_have_attribute("data-state", "live")

        inbox.get_by_label("Snooze “Item 2”", exact=True).click()
        menu = inbox.get_by_role("form", name="Snooze “Item 2” until")
        expect(menu.get_by_role("button")).to_have_text(["In 1 hour", "Tomorrow 9:00",
                                                         "Next week"])
        menu.get_by_role("button", name="Tomorrow 9:00").click()
        expect(inbox.locator("li.note h2")).to_have_text(["Item 1", "Item 0"])
        expect(snoozed.locator("li.note h2")).to_have_text(["Item 2"])
        expect(snoozed.locator("li.note .tag-snoozed")).to_contain_text("09:00")
        expect(inbox.locator("[data-unread-badge]")).to_have_text("2")

        inbox.get_by_label("Select “Item 0”").check()
        inbox.locator("[data-bulk]").get_by_text("Snooze", exact=True).click()
        inbox.locator("[data-bulk]").get_by_role("button", name="In 1 hour").click()
        expect(inbox.locator("li.note h2")).to_have_text(["Item 1"])
        expect(snoozed.locator("li.note h2")).to_have_text(["Item 2", "Item 0"])

        snoozed.get_by_role("button", name="Bring “Item 2” back to the inbox now").click()
        expect(snoozed.locator("li.note h2")).to_have_text(["Item 0"])
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2", "Item 1"])
        expect(inbox.locator("li.note.is-unread")).to_have_count(2)

        # A snooze that runs out while both pages are open: back in the inbox, unread.
        until = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        http.post("/api/v1/users/jay/notifications/snooze",
                  headers={"Authorization": f"Bearer {api_key}"},
                  json={"ids": [ids[1]], "until": until})
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2"])
        expect(snoozed.locator("li.note h2")).to_have_text(["Item 1", "Item 0"])
        expect(inbox.locator("li.note h2")).to_have_text(["Item 2", "Item 1"], timeout=15_000)
        expect(snoozed.locator("li.note h2")).to_have_text(["Item 0"])
        expect(inbox.locator("[data-unread-badge]")).to_have_text("2")
    finally:
        context.close()


@pytest.mark.parametrize(("scheme", "width", "height"), [
    ("light", 1280, 800), ("dark", 1280, 800), ("light", 390, 800), ("dark", 390, 800)])
def test_screenshots_of_the_inbox_views(browser, live_server, http, store, api_key, scheme,
                                        width, height):
    store.accounts.create("kim", "correct horse battery")
    send = lambda title, **fields: api_send(http, api_key, "kim", title, **fields)  # noqa: E731
    snooze_me = send("Standup notes are ready", body="Three decisions, two follow-ups.")
    send("Deploy to production failed", type="ci", priority="urgent",
         body="main is red: the migration step timed out.", link="https://example.com/ci/1")
    send("Dana mentioned you in “Q3 planning”", type="mention",
         body="“Can you take the infra part?”")
    send("Weekly digest", type="digest", priority="low", body="3 new comments, 2 likes.")
    auth = {"Authorization": f"Bearer {api_key}"}
    until = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0,
                                                            microsecond=0)
    done = http.post("/api/v1/users/kim/notifications/snooze", headers=auth, json={
        "ids": [snooze_me], "until": until.isoformat()})
    assert done.status_code == 200, done.text
    context = browser.new_context(color_scheme=scheme, viewport={"width": width,
                                                                 "height": height},
                                  device_scale_factor=2 if width < 500 else 1)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, "kim", "correct horse battery")
        expect(page.locator("li.note")).to_have_count(3)
        device = "phone" if width < 500 else "desktop"
        page.get_by_label("Snooze “Weekly digest”", exact=True).click()
        menu = page.get_by_role("form", name="Snooze “Weekly digest” until")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=ARTIFACTS / f"inbox-snooze-menu-{scheme}-{device}.png",
                        animations="disabled")
        page.keyboard.press("Escape")
        page.get_by_role("link", name="Snoozed").click()
        expect(page.locator("li.note .tag-snoozed")).to_contain_text(until.strftime("%d %b 09:00"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=ARTIFACTS / f"inbox-snoozed-{scheme}-{device}.png",
                        animations="disabled")
        page.get_by_role("link", name="Archived").click()
        expect(page.get_by_role("heading", name="Nothing archived")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"inbox-archived-{scheme}-{device}.png",
                        animations="disabled")
    finally:
        context.close()
