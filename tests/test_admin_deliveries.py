"""Admin console, Deliveries: the queue's figures, dead letters with retry and discard,
and a notification's delivery timeline; in Flask's test client and in Chromium."""

from __future__ import annotations

import re

import pytest

from notifier.delivery.queue import Job, dead_letter_id, parse_dead_letter_id
from notifier.delivery.records import Event
from notifier.model.requests import SendRequest
from notifier.stores.script_batch import ScriptBatch

from conftest import ARTIFACTS, csrf_from, sign_in

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_client(app, store):
    store.accounts.create("root", PASSWORD, admin=True)
    client = app.test_client()
    assert sign_in(client, "root", PASSWORD).status_code == 302
    return client


def dead_letter(store, user_id="alice", title="Build <b>failed</b>", error="HTTP 500"):
    """A notification in the user's inbox whose SMS job ended as a dead letter."""
    outcome = store.inbox.send([SendRequest(user_id=user_id, title=title)], [(user_id, 0)])
    nid = outcome.ids[0]
    job = Job(job_id=f"{nid}:sms", user_id=user_id, channel="sms", notification_id=nid,
              notifications=({"id": nid, "title": title},), attempt=6)
    batch = ScriptBatch(store.redis)
    store.deliveries.add(batch, job, [Event("sms", "retry", 6, "sms", "sms", error),
                                      Event("sms", "dead", 6, detail=error)])
    store.delivery_queue.dead_letter(job, error, batch=batch)
    batch.execute()
    return nid


def test_dead_letters_are_listed_with_their_error_and_escaped(admin_client, store):
    nid = dead_letter(store)
    page = admin_client.get("/admin/deliveries").text
    assert "Build &lt;b&gt;failed&lt;/b&gt;" in page and "<b>failed" not in page
    assert "HTTP 500" in page and 'aria-current="page"' in page
    assert f"notification_id={nid}" in page
    assert re.search(r'<p class="stat-value">1</p>\s*</div>\s*</section>', page)


def test_retry_and_discard(admin_client, store):
    dead_letter(store, title="one")
    dead_letter(store, title="two")
    letters = store.delivery_queue.dead_letters()
    token = csrf_from(admin_client.get("/admin/deliveries").text)
    retried = admin_client.post(f"/admin/deliveries/dead/{letters[0].id}/retry",
                                data={"csrf_token": token})
    assert retried.status_code == 302
    assert store.delivery_queue.counts()["queued"] == 1
    jobs = store.delivery_queue.client.xrange(
        store.keys.delivery_jobs(store.keys.delivery_partition("alice")))
    assert jobs[0][1][b"attempt"] == b"1" and b"error" not in jobs[0][1]
    page = admin_client.get("/admin/deliveries").text
    assert "Queued again" in page
    assert admin_client.post(f"/admin/deliveries/dead/{letters[1].id}/discard",
                             data={"csrf_token": token}).status_code == 302
    assert store.delivery_queue.dead_letter_count() == 0
    again = admin_client.post(f"/admin/deliveries/dead/{letters[1].id}/discard",
                              data={"csrf_token": token}, follow_redirects=True)
    assert "already" in again.text
    assert admin_client.post("/admin/deliveries/dead/nope/retry",
                             data={"csrf_token": token}).status_code == 404
    assert admin_client.post(f"/admin/deliveries/dead/{letters[1].id}/retry",
                             data={}).status_code == 400  # no CSRF token


def test_the_timeline_page(admin_client, store):
    nid = dead_letter(store, error="HTTP 500, error 20500: <script>")
    page = admin_client.get(f"/admin/deliveries/timeline?user_id=alice&notification_id={nid}")
    assert page.status_code == 200
    assert "SMS" in page.text and "Will retry" in page.text and "Dead letter" in page.text
    assert "&lt;script&gt;" in page.text and "<script>" not in page.text.split("</main>")[0] \
        .split("<main")[-1]
    assert admin_client.get(f"/admin/deliveries/timeline?user_id=bob&notification_id={nid}") \
        .status_code == 404
    bad = admin_client.get("/admin/deliveries/timeline?user_id=a{b&notification_id=x")
    assert bad.status_code == 400 and "A notification id looks like" in bad.text
    assert admin_client.get("/admin/deliveries/timeline").status_code == 200
    for bad in ("x", "1-0", "1-0.16", "1-0.x"):
        assert admin_client.get(f"/admin/deliveries?before={bad}").status_code == 400


def test_cursors_at_the_ends_of_the_id_range_are_pages_not_errors(admin_client, store):
    dead_letter(store)
    top = "18446744073709551615-18446744073709551615"
    for cursor in ("0-0.0", "0-0.15", f"{top}.0", f"{top}.15"):
        assert admin_client.get(f"/admin/deliveries?before={cursor}").status_code == 200


def test_non_admins_get_nothing(client, signed_in, store):
    dead_letter(store)
    assert signed_in.get("/admin/deliveries").status_code == 403
    assert client.application.test_client().get("/admin/deliveries").status_code == 302


@pytest.mark.browser
def test_pages_in_chromium(browser, live_server, store):
    store.accounts.create("root", PASSWORD, admin=True)
    nid = dead_letter(store, title="Payment of €42 failed for invoice #4711", error=(
        "HTTP 400, error 21610: Attempt to send to unsubscribed recipient"))
    dead_letter(store, user_id="bob", title="Your verification code", error=(
        "HTTP 503, error 20500: Service Unavailable"))
    shots = [("desktop", {"width": 1280, "height": 860}), ("phone", {"width": 390,
                                                                       "height": 844})]
    for scheme in ("light", "dark"):
        for name, viewport in shots:
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            page.set_default_timeout(10_000)
            errors = []
            page.on("console", lambda m, errors=errors: errors.append(m.text)
                    if m.type == "error" else None)
            page.goto(f"{live_server.url}/login?next=/admin/deliveries")
            page.get_by_label("Username").fill("root")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{live_server.url}/admin/deliveries")
            assert page.get_by_role("link", name="Deliveries").is_visible() or name == "phone"
            page.screenshot(path=ARTIFACTS / f"admin-deliveries-{name}-{scheme}.png",
                            full_page=True)
            page.goto(f"{live_server.url}/admin/deliveries/timeline?user_id=alice"
                      f"&notification_id={nid}")
            assert page.get_by_text("Dead letter").count() == 1
            page.screenshot(path=ARTIFACTS / f"admin-delivery-timeline-{name}-{scheme}.png",
                            full_page=True)
            assert errors == []
            context.close()


def test_dead_letter_ids_name_their_partition():
    assert dead_letter_id("1700000000000-3", 15) == "1700000000000-3.15"
    assert parse_dead_letter_id("1700000000000-3.15") == ("1700000000000-3", 15)
    for bad in ("1700000000000-3", "1700000000000-3.16", "1700000000000-3.-1", "x.1",
                "1700000000000-3.015", "1-0.", None, 5):
        assert parse_dead_letter_id(bad) is None
