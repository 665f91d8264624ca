"""The pages in a real headless Chromium (Debian's, driven by Playwright)."""


import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, api_send, browser_sign_in, wait_for_receipt

pytestmark = pytest.mark.browser




def test_notifications_arrive_live_and_tabs_stay_in_step(browser, live_server, http, store,
                                                         api_key):
    store.accounts.create("alice", "correct horse battery")
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    first, second = context.new_page(), context.new_page()
    try:
        browser_sign_in(first, live_server.url, "alice", "correct horse battery")
        second.goto(f"{live_server.url}/inbox")
        expect(second.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        assert first.get_by_text("Nothing here yet").is_visible()

        api_send(http, api_key, "alice", "Build #481 passed", priority="low", type="ci")
        api_send(http, api_key, "alice", "Dana mentioned you", type="mention",
             body="“Can you review the migration?”", link="https://example.com/pr/7")
        api_send(http, api_key, "alice", "<script>window.pwned = 1</script>", priority="high")
        api_send(http, api_key, "bob", "Not for Alice")
        api_send(http, api_key, "alice", "Password changed on a new device", priority="urgent",
             type="security", body="If this was not you, secure your account now.")
        for page in (first, second):
            expect(page.locator("li.note")).to_have_count(4)
            expect(page.locator("[data-unread-badge]")).to_have_text("4")
            expect(page).to_have_title("(4) Inbox · Notifier")
        assert first.locator("li.note h2").first.inner_text() == "Password changed on a new device"
        expect(first.locator("li.note h2").get_by_text("<script>window.pwned = 1</script>",
                                                       exact=True)).to_be_visible()
        assert first.evaluate("window.pwned") is None
        assert first.get_by_text("Not for Alice").count() == 0
        expect(first.locator(".toast-urgent")).to_contain_text("Password changed")
        first.screenshot(path=ARTIFACTS / "inbox-live-desktop.png", animations="disabled")
        # Priority tags read the same live as rendered by the server (and as the widget's).
        live_tags = first.locator("li.note .tag-urgent, li.note .tag-high").all_inner_texts()
        assert live_tags == ["Urgent", "High"], live_tags

        first.get_by_role("button", name="Mark “Dana mentioned you” read").click()
        for page in (first, second):
            expect(page.locator("[data-unread-badge]")).to_have_text("3")
        expect(second.locator("li.note.is-unread")).to_have_count(3)

        second.get_by_role("button", name="Delete “Build #481 passed”").click()
        expect(first.locator("li.note")).to_have_count(3)

        second.get_by_role("button", name="Mark all read").click()
        for page in (first, second):
            expect(page.locator("[data-unread-badge]")).to_be_hidden()
            expect(page.locator("li.note.is-unread")).to_have_count(0)
            expect(page).to_have_title("Inbox · Notifier")
        assert store.inbox.unread_count("alice") == 0
        first.reload()
        expect(first.locator("li.note")).to_have_count(3)
        rendered = first.locator("li.note .tag-urgent, li.note .tag-high").all_inner_texts()
        assert rendered == ["Urgent", "High"], rendered
    finally:
        context.close()


def test_what_arrives_while_the_page_loads_is_not_lost(page, live_server, http, store, api_key):
    store.accounts.create("dan", "correct horse battery")
    browser_sign_in(page, live_server.url, "dan", "correct horse battery")
    # Hold the stream back, render the page, send, then let the stream connect:
    # the page's cursor (its render position) must bring the notification in.
    page.route("**/events*", lambda route: (api_send(http, api_key, "dan", "Sent mid-load"),
                                            route.continue_()))
    page.reload()
    expect(page.locator("li.note")).to_have_count(1)
    expect(page.get_by_text("Sent mid-load")).to_be_visible()


def test_phone_width_and_dark_mode(browser, live_server, http, store, api_key):
    store.accounts.create("bob", "correct horse battery")
    api_send(http, api_key, "bob", "Your export is ready", priority="high",
         body="The CSV with 12,408 rows can be downloaded for 24 hours.")
    context = browser.new_context(viewport={"width": 390, "height": 760}, color_scheme="dark",
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login")
        page.screenshot(path=ARTIFACTS / "login-phone-dark.png")
        browser_sign_in(page, live_server.url, "bob", "correct horse battery")
        api_send(http, api_key, "bob", "Payment failed", priority="urgent",
             body="Update the card on file to keep your plan.")
        expect(page.locator(".toast-urgent")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the inbox scrolls sideways on a phone"
        page.screenshot(path=ARTIFACTS / "inbox-phone-dark.png", full_page=True,
                        animations="disabled")
    finally:
        context.close()


def test_actions_open_their_page_and_receipts_are_recorded(browser, live_server, http, store,
                                                          api_key):
    store.accounts.create("erin", "correct horse battery")
    context = browser.new_context(viewport={"width": 1200, "height": 820})
    page = context.new_page()
    target = f"{live_server.url}/api/v1/openapi.json?from=action"
    try:
        browser_sign_in(page, live_server.url, "erin", "correct horse battery")
        nid = api_send(http, api_key, "erin", "Expense report from Dana", type="approval",
                   body="€1,240 for the Berlin offsite.", link=f"{live_server.url}/login?from=link",
                   actions=[{"label": "Approve", "url": target},
                            {"label": "<b>Reject</b>", "url": f"{live_server.url}/login?r=1"}])
        item = page.locator(f"#n-{nid}")
        expect(item.get_by_role("button", name="Approve")).to_be_visible()
        expect(item.get_by_role("button", name="<b>Reject</b>")).to_be_visible()
        # Shown live in a visible tab: reported seen (in a batch, about a second later).
        assert wait_for_receipt(store, "erin", nid, "seen_at")["clicked_at"] is None
        page.screenshot(path=ARTIFACTS / "inbox-actions-desktop.png", animations="disabled")

        with context.expect_page() as opened:
            item.get_by_role("button", name="Approve").click()
        opened.value.wait_for_load_state()
        assert opened.value.url == target
        found = wait_for_receipt(store, "erin", nid, "clicked_at")
        assert found["clicked"] == "0" and found["read_at"] is not None
        expect(page.locator(f"#n-{nid}")).not_to_have_class("note priority-normal is-unread")
        expect(page.locator("[data-unread-badge]")).to_be_hidden()

        # The title link opens as a link; its click is recorded in the background.
        other = api_send(http, api_key, "erin", "Dana replied", link=f"{live_server.url}/login?x=2")
        with context.expect_page() as opened:
            page.locator(f"#n-{other}").get_by_role("link", name="Dana replied").click()
        assert wait_for_receipt(store, "erin", other, "clicked_at")["clicked"] == "link"
    finally:
        context.close()


def test_wrong_password_is_announced(page, live_server, store):
    store.accounts.create("carol", "correct horse battery")
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


WINDOW = "Scheduled 02 Jan 03:00 \u2013 02 Jan 04:30 UTC"


def test_broadcasts_arrive_live_and_can_be_dismissed(page, live_server, http, store, api_key):
    store.accounts.create("erin", "correct horse battery")
    browser_sign_in(page, live_server.url, "erin", "correct horse battery")
    auth = {"Authorization": f"Bearer {api_key}"}
    api_send(http, api_key, "erin", "Your report is ready")
    window = http.post("/api/v1/broadcasts", headers=auth, json={
        "type": "maintenance", "title": "Scheduled maintenance", "priority": "high",
        "body": "Sign-ins pause for a few minutes.",
        "starts_at": "2099-01-02T03:00:00Z", "ends_at": "2099-01-02T04:30:00Z"})
    assert window.status_code == 201
    note = page.locator("li.note").first
    expect(note).to_contain_text("Scheduled maintenance")
    expect(note.locator(".tag-broadcast")).to_have_text("Maintenance")
    assert note.locator(".tag").count() == 2  # the kind, and high priority
    expect(note.locator(".note-window")).to_have_text(WINDOW)
    expect(page.locator("[data-unread-badge]")).to_have_text("2")
    expect(page.locator(".toast-high")).to_contain_text("Scheduled maintenance")
    page.screenshot(path=ARTIFACTS / "inbox-broadcast.png", animations="disabled")
    page.reload()  # the server renders the same item
    expect(page.locator("li.note").first.locator(".note-window")).to_have_text(WINDOW)
    page.get_by_role("button", name="Dismiss “Scheduled maintenance”").click()
    expect(page.locator("li.note")).to_have_count(1)
    expect(page.locator("[data-unread-badge]")).to_have_text("1")
    page.reload()
    expect(page.locator("li.note")).to_have_count(1)


def test_signing_out_everywhere_takes_every_open_page_to_sign_in(browser, live_server, store):
    store.accounts.create("dana", "correct horse battery")
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    try:
        browser_sign_in(first, live_server.url, "dana", "correct horse battery")
        second.goto(f"{live_server.url}/inbox")
        expect(second.locator("[data-live-status]")).to_have_attribute("data-state", "live")
        first.goto(f"{live_server.url}/account/password")
        first.get_by_role("button", name="Sign out everywhere").click()
        first.wait_for_url(f"{live_server.url}/login")
        second.wait_for_url(f"{live_server.url}/login*", timeout=10_000)  # told by its stream
        first.screenshot(path=str(ARTIFACTS / "signed-out-everywhere.png"))
    finally:
        context.close()
