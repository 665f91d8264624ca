"""The admin panels in a real headless Chromium: compose with a live preview, send,
schedule and cancel, and an overview that updates by itself. Screenshots go to
test-artifacts/."""

import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sse_client import SSEStream

from notifier.core import widget_tokens as tokens

from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
#: UTC+05:30 all year: a zone whose offset the form must apply, with no DST to race.
ZONE, OFFSET = "Asia/Kolkata", timedelta(hours=5, minutes=30)


def sign_in_to(page, base_url, path, username):
    page.goto(f"{base_url}{path}")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}{path}")


def console_errors(page) -> list[str]:
    """Collect console errors (a CSP violation is one)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def new_page(browser, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def typed(moment: datetime) -> str:
    """``moment`` as typed into a datetime-local input in ZONE."""
    return (moment.astimezone(UTC) + OFFSET).strftime("%Y-%m-%dT%H:%M")


def test_compose_preview_send_schedule_and_cancel(browser, live_server, store):
    store.accounts.create("root", PASSWORD, admin=True)
    store.accounts.create("alice", PASSWORD)
    inbox_context, inbox = new_page(browser)
    admin_context, page = new_page(browser, viewport={"width": 1280, "height": 900},
                                   color_scheme="light", timezone_id=ZONE)
    errors = console_errors(page)
    try:
        sign_in_to(inbox, live_server.url, "/inbox", "alice")
        expect(inbox.locator("[data-live-status]")).to_have_attribute("data-state", "live")

        sign_in_to(page, live_server.url, "/admin/broadcasts", "root")
        preview = page.locator("[data-preview]")
        expect(preview).to_be_visible()
        expect(page.locator("[data-tz-note]")).to_contain_text("(now UTC+05:30)")
        # Refused by the server: the errors show by their fields, what was typed stays.
        page.get_by_label("Kind").select_option("maintenance")
        page.get_by_label("Link").fill("javascript:alert(1)")
        page.get_by_role("button", name="Send to everyone").click()
        expect(page.locator("#title-error")).to_have_text("Write a title.")
        expect(page.locator("#link-error")).to_contain_text("http:// or https://")
        expect(page.locator("#starts_at-error")).to_contain_text("announces a window")
        expect(page.get_by_label("Link")).to_have_value("javascript:alert(1)")
        page.screenshot(path=ARTIFACTS / "admin-compose-errors-desktop-light.png")
        assert store.broadcasts.recent() == []
        page.get_by_label("Link").fill("")

        title = "Database <b>upgrade</b> tonight"
        page.get_by_label("Title", exact=True).fill(title)
        expect(page.locator("#title-error")).to_be_hidden()  # fixed: its error goes
        page.get_by_label("Message").fill("Sign-in may fail for a few minutes.\nSorry!")
        page.get_by_label("Kind").select_option("maintenance")
        page.get_by_label("Priority").select_option("high")
        start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
        page.get_by_label("Window starts").fill(typed(start))
        page.get_by_label("Window ends").fill(typed(start + timedelta(hours=2)))
        # The preview is the inbox's own item, text as text (no <b> element made).
        item = preview.locator("li.note")
        expect(item.locator(".note-title")).to_have_text(title)
        assert item.locator(".note-title b").count() == 0
        expect(item).to_have_class(re.compile(r"\bpriority-high\b"))
        expect(item.locator(".tag-broadcast")).to_have_text("Maintenance")
        expect(page.get_by_label("Kind").locator("option:checked")).to_have_text("Maintenance")
        expect(item.locator(".note-window")).to_have_text(
            f"Scheduled {start:%d %b %H:%M} \u2013 {start + timedelta(hours=2):%d %b %H:%M} UTC")
        expect(page.locator("[data-window-optional]")).to_have_text("(required)")
        page.screenshot(path=ARTIFACTS / "admin-compose-desktop-light.png")

        page.get_by_role("button", name="Send to everyone").click()
        expect(page.get_by_role("status").first).to_have_text(f"Sent “{title}” to everyone.")
        [made] = store.broadcasts.recent()
        assert datetime.fromisoformat(made.starts_at) == start  # entered in Kolkata, kept in UTC
        assert datetime.fromisoformat(made.ends_at) == start + timedelta(hours=2)
        # It reaches a signed-in user's open inbox, live.
        arrived = inbox.locator(f"#n-{made.id}")
        expect(arrived.locator(".note-title")).to_have_text(title)
        row = page.locator("#recent-title").locator("xpath=../..").locator("tbody tr").first
        expect(row).to_contain_text("Upcoming")

        # Ending the window early takes it out of the inbox, live.
        row.get_by_role("button", name=re.compile("^End now")).click()
        expect(page.get_by_role("status").first).to_contain_text("Ended the window")
        expect(row).to_contain_text("Ended")
        expect(arrived).to_have_count(0)

        # Schedule one for tomorrow, see it waiting, cancel it.
        page.get_by_label("Title", exact=True).fill("Weekly digest")
        page.get_by_label("Kind").select_option("system")
        page.get_by_label("Send at").fill(typed(start))
        submit = page.get_by_role("button", name="Schedule broadcast")
        expect(submit).to_be_visible()
        expect(preview.locator("[data-preview-when]")).to_contain_text("Goes out")
        submit.click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"Scheduled “Weekly digest” for {start:%d %b %Y, %H:%M} UTC.")
        [waiting], _ = store.scheduler.list(kind="broadcast")
        assert waiting.send_at == start
        scheduled = page.locator("#scheduled-title").locator("xpath=../..")
        expect(scheduled.locator("tbody tr")).to_have_count(1)
        expect(scheduled.locator("time[data-local]")).to_contain_text("GMT+5:30")  # local
        page.screenshot(path=ARTIFACTS / "admin-broadcasts-desktop-light.png", full_page=True)
        scheduled.get_by_role("button", name="Cancel Weekly digest").click()
        expect(page.get_by_role("status").first).to_have_text("Cancelled “Weekly digest”.")
        expect(scheduled).to_contain_text("None waiting")
        assert store.scheduler.list(kind="broadcast")[0] == []
        assert len(store.broadcasts.recent()) == 1  # the cancelled one never went out
        assert [e for e in errors if "status of 422" not in e] == []  # the refused form
    finally:
        admin_context.close()
        inbox_context.close()


def test_the_overview_updates_live(browser, live_server, store, api_key):
    store.accounts.create("root", PASSWORD, admin=True)
    context, page = new_page(browser, viewport={"width": 1280, "height": 900},
                             color_scheme="light")
    errors = console_errors(page)
    api = httpx.Client(base_url=live_server.url, timeout=10,
                       headers={"Authorization": f"Bearer {api_key}"})
    streams = []
    try:
        sign_in_to(page, live_server.url, "/admin", "root")
        expect(page.locator("[data-admin-live]")).to_have_text("Live")
        online = page.locator("[data-presence-list] .presence-user")
        expect(online).to_have_text(["root"])  # every signed-in page is live: root is online
        for user_id in ("bob", "carol@example.com", "dave.ops"):
            token = tokens.mint("test-secret", user_id, 300)[0]
            streams.append(SSEStream(live_server.url, f"/events?token={token}"))
        expect(online).to_have_text(["bob", "carol@example.com", "dave.ops", "root"])  # no reload
        expect(page.locator('[data-stat="online"]')).to_have_text("4")
        expect(page.locator('[data-stat="streams"]')).not_to_have_text("0")
        expect(page.locator("[data-workers] tr")).not_to_have_count(0)
        # Sends make the rates and the chart move.
        sent_rate = page.locator('[data-stat="sent_per_s"]')
        deadline = time.monotonic() + 10
        while sent_rate.text_content() in ("—", "0.0"):
            assert time.monotonic() < deadline, "the sent rate never moved"
            for _ in range(5):
                api.post("/api/v1/notifications", json={"user_ids": ["bob", "dave.ops"],
                                                        "title": "tick"})
            time.sleep(0.2)
        expect(page.locator("[data-chart-empty]")).to_be_hidden()
        points = page.locator('polyline[data-series="sent_per_s"]').get_attribute("points")
        assert len(points.split()) >= 2
        page.wait_for_timeout(1500)  # a little more history for the screenshot
        page.screenshot(path=ARTIFACTS / "admin-overview-live-desktop-light.png", full_page=True)
        streams.pop(0).close()  # bob leaves (noticed at his stream's next heartbeat)
        expect(online).to_have_text(["carol@example.com", "dave.ops", "root"], timeout=8000)
        assert errors == []
    finally:
        for stream in streams:
            stream.close()
        api.close()
        context.close()


def test_phone_dark(browser, live_server, store, api_key):
    store.accounts.create("root", PASSWORD, admin=True)
    store.groups.create("ops", "On-call engineers")
    for user_id in ("alice", "bob"):
        store.groups.add_member("ops", user_id)
    store.groups.create("beta-testers")
    auth = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=live_server.url, timeout=10, headers=auth) as api:
        soon = datetime.now(UTC) + timedelta(days=1)
        api.post("/api/v1/broadcasts", json={
            "title": "Planned maintenance", "type": "maintenance", "priority": "high",
            "body": "The API is read-only for 30 minutes.",
            "starts_at": soon.isoformat(), "ends_at": (soon + timedelta(minutes=30)).isoformat()})
        api.post("/api/v1/broadcasts", json={"title": "Release 2.0 is out",
                                             "link": "https://example.com/notes"})
        api.post("/api/v1/broadcasts", json={"title": "Next week's release", "send_at":
                                             (soon + timedelta(days=6)).isoformat()})
        api.post("/api/v1/notifications", json={"user_ids": ["alice", "bob"],
                                                "title": "Your report is ready",
                                                "send_at": soon.isoformat()})
    streams = [SSEStream(live_server.url, f"/events?token={tokens.mint('test-secret', u, 60)[0]}")
               for u in ("alice", "bob")]
    context, page = new_page(browser, viewport={"width": 390, "height": 760},
                             color_scheme="dark", device_scale_factor=2)
    errors = console_errors(page)
    try:
        sign_in_to(page, live_server.url, "/admin", "root")
        expect(page.locator("[data-admin-live]")).to_have_text("Live")
        # alice, bob and root, whose admin pages hold a stream of their own
        expect(page.locator("[data-presence-list] li")).to_have_count(3)
        for path, name in [("/admin", "overview-live"), ("/admin/broadcasts", "broadcasts"),
                           ("/admin/scheduled", "scheduled"), ("/admin/groups", "groups"),
                           ("/admin/groups/ops", "group")]:
            page.goto(f"{live_server.url}{path}")
            if path == "/admin":
                expect(page.locator("[data-admin-live]")).to_have_text("Live")
                page.wait_for_timeout(2500)  # a few points on the chart
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways on a phone"
            page.screenshot(path=ARTIFACTS / f"admin-{name}-phone-dark.png", full_page=True)
        assert errors == []
    finally:
        for stream in streams:
            stream.close()
        context.close()


def test_desktop_light_scheduled_and_groups(browser, live_server, store, api_key):
    store.accounts.create("root", PASSWORD, admin=True)
    store.groups.create("ops", "On-call engineers <script>window.pwned=1</script>")
    store.groups.add_member("ops", "alice")
    soon = datetime.now(UTC) + timedelta(hours=3)
    with httpx.Client(base_url=live_server.url, timeout=10,
                      headers={"Authorization": f"Bearer {api_key}"}) as api:
        api.post("/api/v1/groups/ops/notifications", json={
            "title": "Rotation changes", "send_at": soon.isoformat()})
        api.post("/api/v1/notifications", json={"user_id": "alice", "title": "Reminder",
                                                "send_at": (soon + timedelta(hours=1)).isoformat()})
    context, page = new_page(browser, viewport={"width": 1280, "height": 800},
                             color_scheme="light")
    errors = console_errors(page)
    try:
        sign_in_to(page, live_server.url, "/admin/scheduled", "root")
        expect(page.locator("tbody tr")).to_have_count(2)
        page.screenshot(path=ARTIFACTS / "admin-scheduled-desktop-light.png", full_page=True)
        page.get_by_role("link", name="Groups", exact=True).click()
        page.get_by_label("Name").fill("Bad Name")
        page.get_by_role("button", name="Create group").click()
        expect(page.locator("#name-error")).to_contain_text("Lowercase letters")
        page.get_by_label("Name").fill("beta")
        page.get_by_label("Description").fill("People who try things first")
        page.get_by_role("button", name="Create group").click()
        expect(page.locator("h1")).to_have_text("beta")
        page.get_by_label("User id").fill("carol")
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_role("status").first).to_have_text("Added carol.")
        assert store.groups.member_ids("beta") == ["carol"]
        page.screenshot(path=ARTIFACTS / "admin-group-desktop-light.png", full_page=True)
        page.get_by_role("link", name="← Groups").click()
        expect(page.locator("tbody tr")).to_have_count(2)
        page.screenshot(path=ARTIFACTS / "admin-groups-desktop-light.png", full_page=True)
        assert page.evaluate("window.pwned") is None
        assert [e for e in errors if "status of 422" not in e] == []  # the refused form
    finally:
        context.close()
