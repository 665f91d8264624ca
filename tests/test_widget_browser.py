"""The widget and the JS client in headless Chromium, embedded in a site on another origin.

The host site is examples/host_site.py on http://127.0.0.1:<A>; notifier serves the
widget, the stream and the widget API on http://localhost:<B>, a different origin.
"""

import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from host_site import HostSite
from playwright.sync_api import expect

from notifier.core import widget_tokens as tokens

from conftest import ARTIFACTS, wait_for_receipt

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def notifier_url(widget_server):
    return f"http://localhost:{widget_server.port}"


@pytest.fixture
def site(store, notifier_url):
    """The host site, with an API key that allows its origin (and only it)."""
    key, secret = store.api_keys.create("acme")
    site = HostSite(notifier_url, secret)
    store.api_keys.set_origins(key.key_id, [site.origin])
    site.api_key = secret
    yield site
    site.stop()


class Api:
    """notifier's HTTP API with the host site's API key."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def send(self, user_id, title, **fields):
        response = self.client.post("/api/v1/notifications",
                                    json={"user_id": user_id, "title": title, **fields})
        assert response.status_code == 201, response.text
        return response.json()["notifications"][0]["id"]

    def post(self, path, body):
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture
def api(widget_server, site):
    with httpx.Client(base_url=widget_server.url, timeout=10,
                      headers={"Authorization": f"Bearer {site.api_key}"}) as client:
        yield Api(client)


def widget(page):
    return page.locator(".notifier-widget")


def open_host_page(browser, site, user="alice", **context_options):
    context = browser.new_context(**{"viewport": {"width": 1100, "height": 720},
                                     **context_options})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{site.url}/?as={user}")
    expect(widget(page)).to_have_attribute("data-state", "live")
    return context, page


def sign_in_to_inbox(context, notifier_url, user):
    inbox = context.new_page()
    inbox.set_default_timeout(10_000)
    inbox.goto(f"{notifier_url}/login?next=/inbox")
    inbox.get_by_label("Username").fill(user)
    inbox.get_by_label("Password").fill(PASSWORD)
    inbox.get_by_role("button", name="Sign in").click()
    inbox.wait_for_url(f"{notifier_url}/inbox")
    expect(inbox.locator("[data-live-status]")).to_have_attribute("data-state", "live")
    return inbox


def test_the_bell_counts_shows_live_and_keeps_the_inbox_in_step(browser, site, api, store,
                                                                  notifier_url):
    store.accounts.create("alice", PASSWORD)
    api.send("alice", "Build #481 passed", priority="low", type="ci")
    api.send("alice", "Dana mentioned you", body="“Can you review the migration?”",
             link="https://example.com/pr/7")
    api.send("bob", "Not for Alice")
    context, page = open_host_page(browser, site)
    try:
        inbox = sign_in_to_inbox(context, notifier_url, "alice")
        bell = page.get_by_role("button", name="Notifications, 2 unread")
        expect(bell).to_be_visible()
        expect(bell).to_have_attribute("aria-expanded", "false")

        # Live: the count, the announcement, then the list when opened.
        api.send("alice", "<img src=x onerror=window.pwned=1>", priority="high")
        expect(widget(page)).to_have_attribute("data-unread", "3")
        expect(page.get_by_role("status").filter(has_text="New notification")).to_have_text(
            "New notification: <img src=x onerror=window.pwned=1>")
        bell = page.get_by_role("button", name="Notifications, 3 unread")
        bell.click()
        expect(bell).to_have_attribute("aria-expanded", "true")
        dialog = page.get_by_role("dialog", name="Notifications")
        items = dialog.locator("li.item")
        expect(items).to_have_count(3)
        expect(items.first).to_contain_text("<img src=x onerror=window.pwned=1>")
        assert page.evaluate("window.pwned") is None
        assert dialog.get_by_text("Not for Alice").count() == 0
        urgent = api.send("alice", "Password changed on a new device", priority="urgent",
                          body="If this was not you, secure your account now.")
        expect(items).to_have_count(4)
        expect(items.first).to_have_attribute("data-id", urgent)
        expect(items.first).to_have_class("item priority-urgent is-unread is-new")
        link = dialog.get_by_role("link", name="Dana mentioned you")
        expect(link).to_have_attribute("href", "https://example.com/pr/7")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        page.screenshot(path=ARTIFACTS / "widget-light-desktop.png", animations="disabled")

        # Marking read in the widget shows in the user's inbox, open in another tab.
        expect(inbox.locator("[data-unread-badge]")).to_have_text("4")
        dialog.get_by_role("button", name="Mark “Dana mentioned you” read").click()
        expect(inbox.locator("[data-unread-badge]")).to_have_text("3")
        expect(inbox.locator("li.note.is-unread")).to_have_count(3)
        expect(widget(page)).to_have_attribute("data-unread", "3")

        # ... and reading in the inbox shows in the widget.
        inbox.get_by_role("button", name="Mark “Build #481 passed” read").click()
        expect(widget(page)).to_have_attribute("data-unread", "2")
        expect(dialog.locator("li.item.is-unread")).to_have_count(2)

        dialog.get_by_role("button", name="Dismiss “Build #481 passed”").click()
        expect(items).to_have_count(3)
        expect(inbox.locator("li.note")).to_have_count(3)

        dialog.get_by_role("button", name="Mark all read").click()
        expect(inbox.locator("[data-unread-badge]")).to_be_hidden()
        expect(page.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
        expect(dialog.locator("li.item.is-unread")).to_have_count(0)
        expect(dialog.get_by_role("button", name="Mark all read")).to_be_hidden()
        assert store.feed.unread_count("alice") == 0
    finally:
        context.close()


def test_actions_and_receipts_across_origins(browser, site, api, store):
    shown_before = api.send("alice", "Weekly report")
    context, page = open_host_page(browser, site)
    try:
        # Delivered live: the client acknowledges it (seen) without the panel being open.
        live = api.send("alice", "Expense report from Dana", body="€1,240 for the offsite.",
                        actions=[{"label": "Approve", "url": f"{site.url}/?approved=1"},
                                 {"label": "Reject", "url": f"{site.url}/?rejected=1"}])
        expect(widget(page)).to_have_attribute("data-unread", "2")
        wait_for_receipt(store, "alice", live, "seen_at")
        assert store.receipts.get("alice", shown_before)["seen_at"] is None
        # Opening the panel shows the older one: seen too.
        page.get_by_role("button", name="Notifications, 2 unread").click()
        dialog = page.get_by_role("dialog", name="Notifications")
        wait_for_receipt(store, "alice", shown_before, "seen_at")
        approve = dialog.get_by_role("link", name="Approve")
        expect(approve).to_have_attribute("href", f"{site.url}/?approved=1")
        with context.expect_page() as opened:
            approve.click()
        opened.value.wait_for_load_state()
        assert opened.value.url == f"{site.url}/?approved=1"
        found = wait_for_receipt(store, "alice", live, "clicked_at")
        assert found["clicked"] == "0" and found["read_at"] is not None
        expect(widget(page)).to_have_attribute("data-unread", "1")
    finally:
        context.close()


def test_the_widget_over_a_websocket(browser, site, api, store):
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        page.goto(f"{site.url}/?as=alice&transport=websocket")
        expect(widget(page)).to_have_attribute("data-state", "live")
        assert [url.split("?")[0] for url in sockets] == [
            site.example.NOTIFIER_URL.replace("http", "ws", 1) + "/ws"]
        sent = api.send("alice", "Over the socket", priority="high")
        expect(widget(page)).to_have_attribute("data-unread", "1")
        page.get_by_role("button", name="Notifications, 1 unread").click()
        dialog = page.get_by_role("dialog", name="Notifications")
        expect(dialog.locator("li.item")).to_have_count(1)
        expect(dialog.locator("li.item").first).to_have_attribute("data-id", sent)
        wait_for_receipt(store, "alice", sent, "seen_at")  # acknowledged over the socket
        dialog.get_by_role("button", name="Mark “Over the socket” read").click()
        expect(widget(page)).to_have_attribute("data-unread", "0")
    finally:
        context.close()


def test_keyboard_focus_and_escape(browser, site, api):
    api.send("alice", "First")
    context, page = open_host_page(browser, site)
    try:
        page.keyboard.press("Tab")  # the host page's nav link
        page.keyboard.press("Tab")  # the bell
        bell = page.get_by_role("button", name="Notifications, 1 unread")
        expect(bell).to_be_focused()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Notifications")
        expect(dialog).to_be_visible()
        expect(dialog).to_be_focused()
        expect(dialog.locator("li.item")).to_have_count(1)
        page.keyboard.press("Tab")
        expect(dialog.get_by_role("button", name="Mark all read")).to_be_focused()
        for view in ("Inbox", "Snoozed", "Archived"):  # the views, then the list
            page.keyboard.press("Tab")
            expect(dialog.get_by_role("button", name=view, exact=True)).to_be_focused()
        page.keyboard.press("Tab")
        expect(dialog.get_by_role("button", name="Mark “First” read")).to_be_focused()
        page.keyboard.press("Enter")
        expect(dialog.locator("li.item.is-unread")).to_have_count(0)
        # The button went with the unread state; focus stays in the item.
        expect(dialog.get_by_role("button", name="Snooze “First”")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(bell.or_(page.get_by_role("button", name="Notifications", exact=True))
               ).to_be_focused()
        expect(page.get_by_role("button", name="Notifications", exact=True)).to_have_attribute(
            "aria-expanded", "false")
        # A click elsewhere on the page closes it too.
        page.get_by_role("button", name="Notifications", exact=True).click()
        expect(dialog).to_be_visible()
        page.locator("main h1").click()
        expect(dialog).to_be_hidden()
    finally:
        context.close()


def test_load_more_pages_and_the_host_css_does_not_leak_in(browser, site, api):
    sent = [api.send("alice", f"Report {i:02d} is ready") for i in range(14)]
    context, page = open_host_page(browser, site)
    try:
        page.get_by_role("button", name="Notifications, 14 unread").click()
        items = page.get_by_role("dialog").locator("li.item")
        expect(items).to_have_count(10)
        page.get_by_role("button", name="Load more").click()
        expect(items).to_have_count(14)
        expect(page.get_by_role("button", name="Load more")).to_be_hidden()
        ids = items.evaluate_all("nodes => nodes.map((n) => n.dataset.id)")
        assert ids == sent[::-1]
        # The host page styles every button hotpink with a dashed border: not the widget's.
        style = page.get_by_role("button", name="Mark all read").evaluate(
            "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).borderStyle]")
        assert style == ["rgba(0, 0, 0, 0)", "none"]
        assert page.locator("main h1").evaluate("h => getComputedStyle(h).fontFamily").startswith(
            "Georgia")  # ... and the widget's styles do not reach the host
    finally:
        context.close()


@pytest.mark.parametrize(("scheme", "width", "height"), [
    ("light", 1100, 720), ("dark", 1100, 720), ("light", 390, 760), ("dark", 390, 760)])
def test_screenshots_light_and_dark(browser, site, api, scheme, width, height):
    api.send("alice", "Payment failed", priority="urgent",
             body="Update the card on file to keep your plan.", link="https://example.com/b")
    api.send("alice", "Your export is ready", priority="high",
             body="The CSV with 12,408 rows can be downloaded for 24 hours.")
    api.send("alice", "Dana mentioned you in “Q3 planning”", body="“Can you take the infra part?”",
             actions=[{"label": "Reply", "url": "https://example.com/reply"},
                      {"label": "View thread", "url": "https://example.com/thread"}])
    read = api.send("alice", "Weekly digest", priority="low", body="3 new comments, 2 likes.")
    api.post("/api/v1/broadcasts", {"title": "Maintenance on Sunday 02:00-03:00 UTC",
                                    "body": "The dashboard will be read-only."})
    api.post("/api/v1/users/alice/notifications/read", {"ids": [read]})
    context, page = open_host_page(browser, site, color_scheme=scheme,
                                   viewport={"width": width, "height": height},
                                   device_scale_factor=2 if width < 500 else 1)
    try:
        page.get_by_role("button", name="Notifications, 4 unread").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("li.item")).to_have_count(5)
        box = dialog.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        name = f"widget-{scheme}-{'phone' if width < 500 else 'desktop'}.png"
        page.screenshot(path=ARTIFACTS / name, animations="disabled")
    finally:
        context.close()


def test_empty_state_and_the_theme_attribute(browser, site, api):
    context, page = open_host_page(browser, site, color_scheme="light")
    try:
        page.get_by_role("button", name="Notifications", exact=True).click()
        expect(page.get_by_role("dialog")).to_contain_text("all caught up")
        page.screenshot(path=ARTIFACTS / "widget-light-empty.png", animations="disabled")
        host = widget(page)
        background = "h => getComputedStyle(h.shadowRoot.querySelector('.panel')).backgroundColor"
        assert host.evaluate(background) == "rgb(255, 255, 255)"
        host.evaluate("h => { h.dataset.theme = 'dark'; }")
        assert host.evaluate(background) == "rgb(23, 26, 33)"
        # Theming: custom properties set by the page reach inside.
        page.evaluate("document.documentElement.style.setProperty('--notifier-bg', 'rgb(1, 2, 3)')")
        assert host.evaluate(background) == "rgb(1, 2, 3)"
    finally:
        context.close()


def collect_notifications(page, count, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = page.evaluate("window.seen.filter((e) => e.name === 'notification')")
        if len(seen) >= count:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"only {len(seen)} of {count} notifications arrived")


@pytest.mark.parametrize(("margin", "transport"), [
    ("null", "sse"), ("-60", "sse"), ("-60", "websocket")],
    ids=["refreshed-early", "expired-mid-stream", "websocket-expired-mid-stream"])
def test_token_refresh_loses_nothing_and_repeats_nothing(browser, site, api, margin, transport):
    # 4 s tokens: refreshed 2 s before they expire, or (a margin of -60 s: a minute too
    # late) only when the stream says `expired`; 50 sends over about 12 s cross several.
    site.example.TOKEN_TTL = 4
    site.refresh_margin = margin
    site.transport = transport
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{site.url}/?as=alice")  # signs the fake user in
        page.goto(f"{site.url}/client")
        page.wait_for_function("window.states.some(([state]) => state === 'live')")
        sent = []
        rng = random.Random(6)
        for i in range(50):
            sent.append(api.send("alice", f"n{i}"))
            time.sleep(rng.uniform(0.05, 0.45))
        try:
            collect_notifications(page, 50)
        except AssertionError as exc:  # say which are missing, and what the client went through
            events = page.evaluate("window.seen.map((e) => [e.name, e.data && e.data.id])")
            got = {event_id for _, event_id in events}
            missing = [(i, nid) for i, nid in enumerate(sent) if nid not in got]
            raise AssertionError(f"{exc}: missing {missing}; events {events}; "
                                 f"states {page.evaluate('window.states')}") from None
        time.sleep(1.0)  # anything repeated would arrive by now
        seen = page.evaluate("window.seen.filter((e) => e.name === 'notification')")
        ids = [event["data"]["id"] for event in seen]
        assert len(ids) == len(set(ids)), "a notification was shown twice"
        assert ids == sent, "lost or out of order"
        fetched = page.evaluate("window.tokens")
        assert fetched >= 3, f"only {fetched} tokens: the test did not cross a refresh"
        expired = page.evaluate("window.seen.filter((e) => e.name === 'expired').length")
        if margin == "-60":
            assert expired >= 2
        else:
            assert expired == 0
        assert "reset" not in {event["name"] for event in page.evaluate("window.seen")}
    finally:
        context.close()


def test_the_client_over_websocket_gets_live_events_across_origins(browser, site, api, store,
                                                                   notifier_url):
    site.transport = "websocket"
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{site.url}/?as=alice")
        page.goto(f"{site.url}/client")
        page.wait_for_function("window.states.some(([state]) => state === 'live')")
        socket = page.evaluate("[window.client.source instanceof WebSocket,"
                               " window.client.source.url]")
        assert socket[0] and socket[1].startswith(f"ws://localhost:{site_port(notifier_url)}/ws?")
        sent = api.send("alice", "Over the socket")
        seen = collect_notifications(page, 1)
        assert seen[0]["data"]["id"] == sent and seen[0]["data"]["title"] == "Over the socket"
        assert seen[0]["id"].startswith(f"{sent}_")  # a position to resume from
        # The client acked it on arrival: its "seen" receipt is written.
        deadline = time.monotonic() + 5
        while store.receipts.get("alice", sent)["seen_at"] is None:
            assert time.monotonic() < deadline, "no seen receipt"
            time.sleep(0.1)
        # Reading through the widget API comes back as a `read` event over the socket.
        page.evaluate("(id) => window.client.markRead(id)", sent)
        page.wait_for_function("window.seen.some((e) => e.name === 'read')")
        read = page.evaluate("window.seen.filter((e) => e.name === 'read')")
        assert read[0]["data"] == {"ids": [sent]}
        assert page.evaluate("window.seen.filter((e) => e.name === 'unread').at(-1).data") == {
            "unread": 0}
    finally:
        context.close()


def site_port(url):
    return url.rsplit(":", 1)[1]


def test_the_client_recovers_from_refused_tokens(browser, site, api):
    api.send("alice", "waiting")
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{site.url}/?as=alice")
        # The first token is refused (401): the browser gives up on that EventSource, and
        # the client comes back after a jittered wait with a new token.
        page.goto(f"{site.url}/client?bad_first=1")
        page.wait_for_function("window.states.some(([state]) => state === 'live')")
        states = page.evaluate("window.states")
        assert [s for s, _ in states] == ["reconnecting", "live"]
        assert states[1][1] >= 500, "reconnected without waiting"
        assert page.evaluate("window.tokens") == 2
        # A widget API call with an expired token (401 the page can read) or a forged one
        # (401 without CORS: unreadable) fetches a new token and is tried once more.
        for bad in (tokens.mint("test-secret", "alice", -1, [site.origin])[0], "forged"):
            count = page.evaluate("""async (bad) => {
              window.client.token = { token: bad, obtainedAt: Date.now(),
                                      expiresAt: Date.now() + 600000 };
              return window.client.unreadCount();
            }""", bad)
            assert count == 1
        assert page.evaluate("window.tokens") == 4
    finally:
        context.close()


def test_the_es_module_loads_across_origins_and_its_backoff_is_capped(browser, site, api):
    api.send("alice", "hello")
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{site.url}/?as=alice")
        page.goto(f"{site.url}/module")
        page.wait_for_function("window.seen && window.seen.includes(1)")
        checks = page.evaluate("""() => {
          const { backoffDelay, refreshDelay, readToken, Notifier, plain } = window.api;
          const delays = [];
          for (let n = 0; n < 40; n++) delays.push(backoffDelay(n, 1000, 30000));
          const token = readToken({ token: "t", expires_in: 900 }, 0);
          return {
            version: Notifier.version, plain,
            first: delays[0], capped: Math.max(...delays), floor: Math.min(...delays.slice(10)),
            spread: new Set(delays.slice(10).map(Math.round)).size,
            refresh: refreshDelay(token, 0, null), short: refreshDelay(readToken({ token: "t",
              expires_in: 4 }, 0), 0, null), asString: readToken("t", 5).expiresAt,
          };
        }""")
        assert checks["version"] == "1" and checks["plain"] == "undefined"  # no global
        assert 500 <= checks["first"] <= 1000
        assert checks["floor"] >= 15000 and checks["capped"] <= 30000
        assert checks["spread"] > 20, "no jitter"
        assert checks["refresh"] == 840_000  # 60 s before a 15 min token expires
        assert checks["short"] == 2000  # at least 2 s before
        assert checks["asString"] is None
    finally:
        context.close()


def test_a_page_on_a_disallowed_origin_gets_no_data(browser, site, api, widget_server):
    api.send("alice", "Secret for alice")
    other = f"http://localhost:{site.port}"  # same site, another origin: not allowed
    context = browser.new_context()
    page = context.new_page()
    try:
        # The host backend's token request for this origin is refused (422), so the
        # widget never gets a token.
        page.goto(f"{other}/?as=alice")
        expect(widget(page)).to_have_attribute("data-state", "unavailable")
        expect(widget(page)).to_have_attribute("data-unread", "")
        page.get_by_role("button", name="Notifications", exact=True).click()
        expect(page.get_by_role("dialog")).to_contain_text("Notifications are unavailable")
        page.screenshot(path=ARTIFACTS / "widget-unavailable.png", animations="disabled")
        assert page.get_by_text("Secret for alice").count() == 0

        # A valid token for the allowed origin, used from this one: stream and API refuse.
        site.stolen_token = tokens.mint("test-secret", "alice", 300, [site.origin])[0]
        page.goto(f"{other}/stolen")
        page.wait_for_function("window.outcome.stream === 'closed'"
                               " && window.outcome.fetch !== 'pending'")
        outcome = page.evaluate("window.outcome")
        assert outcome == {"events": [], "stream": "closed", "fetch": "refused: TypeError"}
        # The same token works from its own origin.
        page.goto(f"{site.url}/stolen")
        page.wait_for_function("window.outcome.events.length > 0"
                               " && window.outcome.fetch !== 'pending'")
        outcome = page.evaluate("window.outcome")
        assert outcome["stream"] == "open" and "Secret for alice" in outcome["fetch"]
    finally:
        context.close()


def test_chips_name_types_as_the_inbox_does(browser, site, api, store):
    from notifier.model.types import TypeInfo

    store.types.put(TypeInfo(type="security", label="Security alerts"))
    labelled = api.send("alice", "New sign-in", type="security")
    plain = api.send("alice", "Build passed", type="ci")
    untyped = api.send("alice", "Welcome")
    announced = api.post("/api/v1/broadcasts", {"title": "New help centre"})["broadcast"]["id"]
    context, page = open_host_page(browser, site)
    try:
        page.get_by_role("button", name="Notifications, 4 unread").click()
        dialog = page.get_by_role("dialog")

        def chips(note_id):
            item = dialog.locator(f'li.item[data-id="{note_id}"]')
            expect(item).to_be_visible()
            return item.locator(".tag").all_inner_texts()

        assert chips(labelled) == ["Security alerts"]
        assert chips(plain) == ["ci"]
        assert chips(untyped) == []
        assert chips(announced) == ["Announcement"]
        live = api.send("alice", "Another sign-in", type="security")
        assert chips(live) == ["Security alerts"]
    finally:
        context.close()


def test_archive_and_restore_in_the_widget_and_across_tabs(browser, site, api, store,
                                                            notifier_url):
    store.accounts.create("alice", PASSWORD)
    for title in ("Old news", "Deploy done", "Review asked"):
        api.send("alice", title)
    context, page = open_host_page(browser, site)
    try:
        inbox = sign_in_to_inbox(context, notifier_url, "alice")
        page.get_by_role("button", name="Notifications, 3 unread").click()
        dialog = page.get_by_role("dialog", name="Notifications")
        titles = dialog.locator("li.item h3")
        expect(titles).to_have_text(["Review asked", "Deploy done", "Old news"])

        dialog.get_by_role("button", name="Archive “Deploy done”").click()
        expect(titles).to_have_text(["Review asked", "Old news"])
        expect(inbox.locator("li.note h2")).to_have_text(["Review asked", "Old news"])
        expect(widget(page)).to_have_attribute("data-unread", "2")

        archived = dialog.get_by_role("button", name="Archived")
        archived.click()
        expect(archived).to_have_attribute("aria-pressed", "true")
        expect(titles).to_have_text(["Deploy done"])
        expect(dialog.get_by_role("button", name="Archive “Deploy done”")).to_have_count(0)

        # Archived in the inbox page: the widget's Archived view gains it live.
        inbox.get_by_role("button", name="Archive “Old news”").click()
        expect(titles).to_have_text(["Deploy done", "Old news"])

        dialog.get_by_role("button", name="Restore “Deploy done” to the inbox").click()
        expect(titles).to_have_text(["Old news"])
        expect(inbox.locator("li.note h2")).to_have_text(["Review asked", "Deploy done"])
        dialog.get_by_role("button", name="Inbox", exact=True).click()
        expect(titles).to_have_text(["Review asked", "Deploy done"])
        # A new notification shows in the inbox view.
        api.send("alice", "Fresh one")
        expect(titles).to_have_text(["Fresh one", "Review asked", "Deploy done"])
        assert [n.title for n in store.inbox.page("alice", limit=10, archived=True)[0]] == [
            "Old news"]
    finally:
        context.close()


def test_snooze_in_the_widget_and_its_return(browser, site, api, store, notifier_url):
    store.accounts.create("alice", PASSWORD)
    for title in ("Old news", "Deploy done", "Review asked"):
        api.send("alice", title)
    context, page = open_host_page(browser, site)
    try:
        inbox = sign_in_to_inbox(context, notifier_url, "alice")
        page.get_by_role("button", name="Notifications, 3 unread").click()
        dialog = page.get_by_role("dialog", name="Notifications")
        titles = dialog.locator("li.item h3")
        expect(titles).to_have_text(["Review asked", "Deploy done", "Old news"])

        dialog.get_by_role("button", name="Snooze “Deploy done”").click()
        menu = dialog.get_by_role("group", name="Snooze “Deploy done” until")
        expect(menu.get_by_role("button")).to_have_text(["In 1 hour", "Tomorrow 9:00",
                                                         "Next week"])
        menu.get_by_role("button", name="Tomorrow 9:00").click()
        expect(titles).to_have_text(["Review asked", "Old news"])
        expect(inbox.locator("li.note h2")).to_have_text(["Review asked", "Old news"])
        expect(widget(page)).to_have_attribute("data-unread", "2")
        until = list(store.inbox.snoozed_until(
            "alice", [n.id for n in store.inbox.page("alice", limit=5, snoozed=True)[0]])
            .values())
        local = page.evaluate("ms => [new Date(ms).getHours(), new Date(ms).getMinutes()]",
                              until[0])
        assert local == [9, 0]

        dialog.get_by_role("button", name="Snoozed").click()
        expect(titles).to_have_text(["Deploy done"])
        # Snoozed elsewhere (here through the API, for two seconds): it joins this view,
        # then goes back to the inbox when due (this server runs no scheduler: the test
        # does what the alarm's executor does, unless a listing did it first).
        old = store.inbox.page("alice", limit=5)[0][-1].id
        api.post("/api/v1/users/alice/notifications/snooze",
                 {"ids": [old], "until": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()})
        expect(titles).to_have_text(["Deploy done", "Old news"])
        time.sleep(2.1)
        store.inbox.unsnooze_due("alice")
        expect(titles).to_have_text(["Deploy done"])
        expect(inbox.locator("li.note h2")).to_have_text(["Review asked", "Old news"])

        dialog.get_by_role("button", name="Bring “Deploy done” back to the inbox now").click()
        expect(dialog.get_by_text("Nothing snoozed")).to_be_visible()
        expect(inbox.locator("li.note h2")).to_have_text(["Review asked", "Deploy done",
                                                          "Old news"])
        dialog.get_by_role("button", name="Inbox", exact=True).click()
        expect(titles).to_have_text(["Review asked", "Deploy done", "Old news"])
        expect(widget(page)).to_have_attribute("data-unread", "3")
    finally:
        context.close()
