"""The inbox page: content, escaping, actions, paging, headers."""

import json
import re

from conftest import csrf_from


def send(client, auth, user_id, **fields):
    response = client.post("/api/v1/notifications", headers=auth,
                           data=json.dumps({"user_id": user_id, "title": "Hello", **fields}))
    assert response.status_code == 201
    return response.json["notifications"][0]["id"]


def test_inbox_needs_sign_in(client):
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login?next=%2Finbox" in response.headers["Location"]


def test_shows_own_notifications_with_unread_badge(signed_in, auth):
    send(signed_in, auth, "alice", title="For Alice", body="line one\nline two")
    send(signed_in, auth, "bob", title="For Bob")
    page = signed_in.get("/inbox").text
    assert "For Alice" in page and "For Bob" not in page
    assert 'aria-label="1 unread"' in page and "<title>(1) Inbox" in page
    assert "is-unread" in page


def test_sender_text_is_escaped(signed_in, auth):
    send(signed_in, auth, "alice", title="<script>alert(1)</script>",
         body='<img src=x onerror="alert(2)">', type="x-y")
    page = signed_in.get("/inbox").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_links_open_safely(signed_in, auth):
    send(signed_in, auth, "alice", link="https://example.com/a?b=1&c=2")
    page = signed_in.get("/inbox").text
    assert 'href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow"' in page


def test_mark_one_read_then_delete(signed_in, auth, store):
    first = send(signed_in, auth, "alice", title="First")
    send(signed_in, auth, "alice", title="Second")
    token = csrf_from(signed_in.get("/inbox").text)
    response = signed_in.post("/inbox/read", data={"id": first, "csrf_token": token,
                                                   "next": "/inbox"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert store.inbox.unread_count("alice") == 1
    signed_in.post(f"/inbox/{first}/delete", data={"csrf_token": token})
    page = signed_in.get("/inbox").text
    assert "First" not in page and "Second" in page


def test_mark_all_read_spares_what_arrived_after_the_page(signed_in, auth, store):
    send(signed_in, auth, "alice", title="Seen")
    page = signed_in.get("/inbox").text
    newest = re.search(r'name="up_to" value="([^"]+)"', page).group(1)
    send(signed_in, auth, "alice", title="Arrived later")
    signed_in.post("/inbox/read", data={"all": "1", "up_to": newest,
                                        "csrf_token": csrf_from(page)})
    assert store.inbox.unread_count("alice") == 1


def test_actions_need_csrf(signed_in, auth, store):
    notification = send(signed_in, auth, "alice")
    assert signed_in.post("/inbox/read", data={"id": notification}).status_code == 400
    assert signed_in.post(f"/inbox/{notification}/delete").status_code == 400
    assert store.inbox.unread_count("alice") == 1


def test_cannot_touch_another_users_notification(signed_in, auth, store):
    bobs = send(signed_in, auth, "bob", title="Bob's")
    token = csrf_from(signed_in.get("/inbox").text)
    signed_in.post("/inbox/read", data={"id": bobs, "csrf_token": token})
    signed_in.post(f"/inbox/{bobs}/delete", data={"csrf_token": token})
    assert store.inbox.unread_count("bob") == 1
    assert len(store.inbox.page("bob", limit=10)[0]) == 1


def test_pages_of_older_notifications(signed_in, store):
    from notifier.model.requests import NotificationContent

    contents = [NotificationContent(title=f"note {i:02d}") for i in range(30)]
    store.inbox.send(contents, [("alice", i) for i in range(30)])
    first = signed_in.get("/inbox").text
    assert "note 29" in first and "note 05" in first and "note 04" not in first
    older = re.search(r'href="(/inbox\?before=[^"]+)"', first).group(1)
    second = signed_in.get(older.replace("&amp;", "&")).text
    assert "note 04" in second and "note 00" in second and "note 05" not in second
    assert signed_in.get("/inbox?before=garbage").status_code == 400


def test_unread_filter_and_empty_states(signed_in, auth):
    assert "Nothing here yet" in signed_in.get("/inbox").text
    assert "No unread notifications" in signed_in.get("/inbox?unread=1").text


def test_pages_send_a_strict_content_security_policy(signed_in):
    response = signed_in.get("/inbox")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.text and " style=" not in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
